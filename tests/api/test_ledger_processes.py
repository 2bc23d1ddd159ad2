"""Several writer processes while the ledger integrator runs: every stored event is
integrated once, in notification order."""

import json
import multiprocessing
import threading

import pytest

from api.settings import Settings
from api.wiring import Services, open_services
from domain import Actor, AgreementCapture, CustomerProfile, PersonalDetails

WRITERS, CUSTOMERS_EACH = 3, 8


def register_customers(settings: Settings, writer: int) -> None:
    """Runs in its own process, with its own connections."""
    services = open_services(settings)
    try:
        for number in range(CUSTOMERS_EACH):
            services.crm.register_customer(
                Actor(f"writer-{writer}", "sales"),
                PersonalDetails(f"Khách {writer}-{number}"),
                CustomerProfile(),
                agreements=[AgreementCapture("care", f"HD-{writer}-{number}")],
            )
    finally:
        services.close()


@pytest.mark.requirement("PROCESSING-LOG")
def test_events_of_concurrent_writer_processes_are_integrated_once_in_order(
    services: Services, settings: Settings
) -> None:
    services.crm.define_purpose(
        Actor("boss", "admin"),
        "care",
        "Chăm sóc",
        "Care",
        "agreement",
        [("c", "basic")],
        9,
    )
    stop = threading.Event()
    integrator = services.ledger_integrator()
    runner = threading.Thread(target=integrator.run, args=(stop, 0.01))
    runner.start()
    spawn = multiprocessing.get_context("spawn")
    writers = [
        spawn.Process(target=register_customers, args=(settings, n))
        for n in range(WRITERS)
    ]

    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    stored = services.crm.recorder.select_notifications(start=None, limit=10_000)
    for _ in range(600):
        if integrator.tree_size >= len(stored):
            break
        stop.wait(0.05)
    stop.set()
    runner.join(timeout=60)

    entries = services.ledger_store.read_entries(0, len(stored) + 10)
    integrated = [json.loads(entry)["notification_id"] for entry in entries]
    assert all(writer.exitcode == 0 for writer in writers)
    assert len(stored) == 1 + WRITERS * CUSTOMERS_EACH * 2
    assert integrated == [n.id for n in stored]
