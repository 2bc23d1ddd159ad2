"""DSR-ERASE: erasure marks the customer in one row, hides every sealed copy at
once, and a background sweep clears the copies, resuming after an interruption."""

import threading
from uuid import UUID

from api.wiring import Services
from domain import Actor, ConsentCapture, CustomerProfile, PersonalDetails
from projections.positions import table

SALES = Actor("tester", "sales")
ADMIN = Actor("boss", "admin")
DPO = Actor("dpo", "dpo")
NOTES = 7


def customer_with_notes(services: Services) -> UUID:
    crm = services.crm
    crm.define_purpose(
        ADMIN, "care", "Chăm sóc", "Care", "consent", [("c", "basic")], 9
    )
    crm.publish_notice(ADMIN, "care", "Thông báo", "Notice")
    sha = crm.purpose("care").notices[0]["text_sha256"]
    customer_id = crm.register_customer(
        SALES,
        PersonalDetails("Lê Thị Xoá", phone="0912 345 678"),
        CustomerProfile(),
        consents=[ConsentCapture("care", 1, sha, "web-form", "form-1")],
    ).id
    for n in range(NOTES):
        crm.log_interaction(SALES, customer_id, "note", f"Ghi chú {n}")
    crm.change_contact_details(SALES, customer_id, email="xoa@example.vn")
    return customer_id


def sealed_rows(services: Services, customer_id: UUID) -> dict[str, int]:
    dialect = services.read_models.dialect
    counts = {}
    with services.read_models.transaction() as cursor:
        for name, column in (
            ("customer_timeline", "personal"),
            ("interactions_by_customer", "text"),
        ):
            cursor.execute(
                f"SELECT COUNT(*) FROM {table(dialect, name)} "
                f"WHERE customer_id = %s AND {column} IS NOT NULL",
                (customer_id.hex,),
            )
            row = cursor.fetchone()
            assert row is not None
            counts[name] = int(row[0])
    return counts


def catch_up(services: Services) -> None:
    for runner in services.runners:
        runner.catch_up()


def test_erasure_hides_every_sealed_copy_before_the_sweep_clears_them(
    services: Services,
) -> None:
    customer_id = customer_with_notes(services)
    catch_up(services)
    assert sealed_rows(services, customer_id) == {
        "customer_timeline": NOTES + 2,  # registration, notes, contact change
        "interactions_by_customer": NOTES,
    }

    services.crm.erase_customer(DPO, customer_id, "DSR-ERASE 1")
    catch_up(services)

    # Applying the erasure wrote one mark; the sealed copies are still there,
    # but no answer carries one any more.
    assert sealed_rows(services, customer_id)["customer_timeline"] == NOTES + 2
    entries = services.timelines.timeline(services.read_models, customer_id, limit=99)
    assert len(entries) > NOTES
    assert all(entry.sealed == {} for entry in entries)
    interactions = services.customers.interactions_of(services.read_models, customer_id)
    assert len(interactions) == NOTES
    assert all(row.text is None for row in interactions)

    for runner in services.runners:
        runner.sweep_all()

    assert sealed_rows(services, customer_id) == {
        "customer_timeline": 0,
        "interactions_by_customer": 0,
    }


def test_a_sweep_cut_short_resumes_where_it_stopped(services: Services) -> None:
    customer_id = customer_with_notes(services)
    services.crm.erase_customer(DPO, customer_id, "DSR-ERASE 1")
    catch_up(services)
    runner = services.runner
    runner.sweep_size = 3

    assert runner.sweep_once() == 3  # one transaction of three rows, then "stop"
    assert sealed_rows(services, customer_id)["interactions_by_customer"] == NOTES - 3

    runner.sweep_all()
    assert sealed_rows(services, customer_id)["interactions_by_customer"] == 0
    assert runner.sweep_once() == 0, "nothing is left to do"


def test_a_running_runner_sweeps_when_no_event_waits(services: Services) -> None:
    customer_id = customer_with_notes(services)
    services.crm.erase_customer(DPO, customer_id, "DSR-ERASE 1")
    runner = services.timeline_runner
    runner.poll_seconds = 0.05
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    try:
        head = services.crm.recorder.max_notification_id() or 0
        assert runner.wait_for(head, timeout=30)
        for _ in range(600):
            if sealed_rows(services, customer_id)["customer_timeline"] == 0:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join()
    assert sealed_rows(services, customer_id)["customer_timeline"] == 0
