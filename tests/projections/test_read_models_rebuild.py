"""Every read model is rebuilt from the events alone to exactly the rows it had."""

from typing import Any

import pytest

from api.wiring import Services
from domain import (
    Actor,
    AgreementCapture,
    ConsentCapture,
    CustomerProfile,
    PersonalDataDisclosure,
    PersonalDetails,
)
from projections import ProjectionRunner
from projections.positions import table

SALES = Actor("tester", "sales")
ADMIN = Actor("boss", "admin")


def record_history(services: Services) -> None:
    """Purposes, notices, consents, withdrawals, agreements, reads, an export and an
    erasure: every kind of event the read models answer for."""
    crm = services.crm
    crm.define_purpose(
        ADMIN, "care", "Chăm sóc", "Care", "agreement", [("c", "basic")], 9
    )
    crm.define_purpose(ADMIN, "news", "Tin", "News", "consent", [("e", "basic")], 9)
    crm.publish_notice(ADMIN, "news", "Bản tin", "News")
    sha = crm.purpose("news").notices[0]["text_sha256"]
    consent = ConsentCapture("news", 1, sha, "web-form", "form-1")
    ids = []
    for number in range(4):
        written = crm.register_customer(
            SALES,
            PersonalDetails(f"Khách {number}", phone="0912 345 678"),
            CustomerProfile(tags=["vip"], province="Huế"),
            consents=[consent],
            agreements=[AgreementCapture("care", f"HD-{number}")],
        )
        ids.append(written.id)
    crm.withdraw_consent(SALES, ids[0], "news", "email")
    crm.change_province(SALES, ids[1], "Hà Nội")
    crm.log_interaction(SALES, ids[1], "call", "Gọi điện")
    crm.record_personal_data_read(SALES, ids[2], "care", ["full_name"])
    crm.record_personal_data_export(
        SALES,
        PersonalDataDisclosure(
            "care", "Courier Co", "DPA-1", "agreement", ["phone"], ids
        ),
    )
    crm.retire_purpose(ADMIN, "news")
    crm.erase_customer(Actor("dpo", "dpo"), ids[3], "DSR-ERASE 1")


def rows_of(services: Services, runner: ProjectionRunner) -> dict[str, list[Any]]:
    tables = _tables(runner)
    with services.read_models.transaction() as cursor:
        found = {}
        for name in tables:
            cursor.execute(f"SELECT * FROM {name} ORDER BY 1, 2")
            found[name] = cursor.fetchall()
        return found


def forget(services: Services, runner: ProjectionRunner) -> None:
    dialect = services.read_models.dialect
    with services.read_models.transaction() as cursor:
        for name in _tables(runner):
            cursor.execute(f"DELETE FROM {name}")
        cursor.execute(
            f"DELETE FROM {table(dialect, 'projection_positions')} WHERE name = %s",
            (runner.read_model.name,),
        )


def _tables(runner: ProjectionRunner) -> list[str]:
    read_model: Any = runner.read_model
    names = [
        "customer_table",
        "interaction_table",
        "table",
        "history_table",
        "notice_table",
    ]
    return [getattr(read_model, n) for n in names if hasattr(read_model, n)]


@pytest.mark.parametrize(
    "runner_name",
    [
        "runner",
        "consent_runner",
        "timeline_runner",
        "purpose_runner",
        "erasure_runner",
        "subject_events_runner",
    ],
)
def test_a_read_model_rebuilt_from_the_events_has_the_same_rows(
    services: Services, runner_name: str
) -> None:
    record_history(services)
    runner: ProjectionRunner = getattr(services, runner_name)
    runner.catch_up()
    before = rows_of(services, runner)

    forget(services, runner)
    runner.batch_size = 3  # rebuilt in other batches than first built
    runner.catch_up()

    assert rows_of(services, runner) == before
    assert all(before.values()), "every table of the read model has rows"
    assert runner.position() == services.crm.recorder.max_notification_id()
