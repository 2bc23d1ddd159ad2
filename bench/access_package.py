"""What an access package costs as the log grows, for one subject with a fixed
history: finding the subject's events through the read model `events_by_subject`
against the reference, the scan of the log by topic the package did before, in
the same run. Prints milliseconds and ratios; asserts nothing.

    .venv/bin/python bench/access_package.py [--events N] [--steps 3]
        [--backend sqlite|postgres|both] [--postgres ADMIN_URL]

The log grows in `--steps` equal steps up to `--events` events of other
customers (registrations and recorded reads, the topics the scan reads); after
each step both ways are timed (median of five) for the same subject.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.utils import get_topic

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api import privacy
from api.settings import Settings, load_settings
from api.wiring import Services, open_services
from crypto_shredding import create_wrapping_key_file
from domain import (
    Actor,
    ConsentCapture,
    Customer,
    CustomerProfile,
    Interaction,
    PersonalDataRead,
    PersonalDetails,
    Registration,
    Written,
    notice_sha256,
)
from domain.access import PersonalDataAccess, PersonalDataExport
from domain.subject_requests import SubjectRequest
from ledger import create_signing_key

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
SALES = Actor("bench-sales", "sales")
DPO = Actor("bench-dpo", "dpo")
NOTICE = ("Chúng tôi gửi ưu đãi.", "We send offers.")
REPEATS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument(
        "--backend", choices=("sqlite", "postgres", "both"), default="both"
    )
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    arguments = parser.parse_args()
    backends = (
        ["sqlite", "postgres"] if arguments.backend == "both" else [arguments.backend]
    )
    for backend in backends:
        with deployment(backend, arguments.postgres) as settings:
            measure(settings, arguments.events, arguments.steps)


@contextmanager
def deployment(backend: str, admin_url: str) -> Iterator[Settings]:
    with tempfile.TemporaryDirectory() as folder:
        if backend == "sqlite":
            yield initialised(Path(folder), "")
            return
        name = f"ledgercrm_bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
            try:
                base = admin_url.rsplit("/", 1)[0]
                yield initialised(Path(folder), f"{base}/{name}")
            finally:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def initialised(folder: Path, database_url: str) -> Settings:
    settings = load_settings(data_dir=folder / "var", database_url=database_url)
    create_wrapping_key_file(settings.key_file)
    create_signing_key(settings.signing_key_file, settings.ledger_origin)
    return settings


def measure(settings: Settings, events: int, steps: int) -> None:
    title = "PostgreSQL" if settings.uses_postgres else "SQLite"
    services = open_services(settings)
    stop = threading.Event()
    runner = services.subject_events_runner
    running = threading.Thread(target=runner.run, args=(stop,))
    running.start()
    try:
        consent = define_purpose(services)
        subject = subject_with_history(services, consent)
        print(
            f"\n{title}; load average {os.getloadavg()[0]:.1f}; a package records a "
            "read, so the subject grows by one event per package"
        )
        print(
            f"{'log events':>11} {'subject events':>15} {'scan (ref) ms':>14} "
            f"{'index ms':>9} {'scan/index':>11} {'package ms':>11}"
        )
        for _ in range(steps):
            add_other_customers(services, consent, events // steps)
            head = services.crm.recorder.max_notification_id() or 0
            runner.wait_for(head, 600)
            found = privacy.subject_events(services, subject, head)
            assert [e.position for e in found] == [
                e[0] for e in scan(services, subject)
            ]
            scanned = median_ms(lambda: scan(services, subject))
            indexed = median_ms(
                partial(privacy.subject_events, services, subject, head)
            )
            package = median_ms(lambda: privacy.access_package(services, DPO, subject))
            print(
                f"{head:>11,} {len(found):>15} {scanned:>14.1f} {indexed:>9.1f} "
                f"{scanned / indexed:>10.1f}x {package:>11.1f}"
            )
    finally:
        stop.set()
        running.join()
        services.close()


def define_purpose(services: Services) -> ConsentCapture:
    crm = services.crm
    crm.define_purpose(
        SALES, "offers", "Ưu đãi", "Offers", "consent", [("email", "basic")], 30
    )
    crm.publish_notice(SALES, "offers", *NOTICE)
    return ConsentCapture("offers", 1, notice_sha256(*NOTICE), "web-form", "f-1")


def subject_with_history(services: Services, consent: ConsentCapture) -> UUID:
    """The subject: registered, 10 interactions and 10 recorded reads."""
    crm = services.crm
    written = crm.register_customer(
        SALES, PersonalDetails("Nguyễn Văn An"), CustomerProfile(), [consent]
    )
    for number in range(10):
        crm.log_interaction(SALES, written.id, "call", f"Cuộc gọi {number}")
    crm.record_personal_data_reads(
        [PersonalDataRead(SALES, written.id, "offers", ["full_name"])] * 10
    )
    return written.id


def add_other_customers(
    services: Services, consent: ConsentCapture, events: int
) -> None:
    """About `events` events of other customers: each registered with a consent
    (two events) and read eight times."""
    crm = services.crm
    for _ in range(events // 1_000):
        batch = [
            Registration(PersonalDetails("Khách khác"), CustomerProfile(), [consent])
            for _ in range(100)
        ]
        written = crm.register_customers(SALES, batch)
        ids = [w.id for w in written if isinstance(w, Written)]
        crm.record_personal_data_reads(
            [PersonalDataRead(SALES, i, "offers", ["full_name"]) for i in ids] * 8
        )


def scan(services: Services, subject: UUID) -> list[tuple[int, Any]]:
    """The reference: the log read by topic, every event decoded and tested."""
    classes: list[type] = [
        Interaction.Logged,
        PersonalDataAccess.Recorded,
        PersonalDataExport.Recorded,
    ]
    for owner, base in (
        (Customer, Customer.Event),
        (SubjectRequest, SubjectRequest.Event),
    ):
        classes += [
            v
            for v in vars(owner).values()
            if isinstance(v, type) and issubclass(v, base) and v is not base
        ]
    topics = sorted({get_topic(c) for c in classes})
    return [
        (position, event)
        for position, event in privacy.notifications_of(services, topics)
        if concerns(event, subject)
    ]


def concerns(event: Any, subject: UUID) -> bool:
    if isinstance(event, PersonalDataExport.Recorded):
        return subject in event.customer_ids
    if isinstance(event, Customer.Event):
        return bool(event.originator_id == subject)
    if isinstance(event, SubjectRequest.Received | SubjectRequest.IdentityVerified):
        return event.customer_id == str(subject)
    return getattr(event, "customer_id", None) == subject


def median_ms(work: Callable[[], object]) -> float:
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        work()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


if __name__ == "__main__":
    main()
