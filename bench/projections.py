"""Catch-up rate of each projection against a raw read of the same notifications.

Stores --events events (default 100,000) through the CRM, then, on a fresh read
model database each time, times each projection runner catching up from zero,
and the same notifications read in the same batches without applying them
(`select_notifications`, what any runner must do at least). Prints events per
second and the ratio; asserts nothing.

    .venv/bin/python bench/projections.py [--events N]
        [--backend sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

# The project root ahead of this script's folder, where this file would
# shadow the package of the same name.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.settings import Settings, load_settings
from api.wiring import Services, open_services
from crypto_shredding import create_wrapping_key_file
from domain import (
    Actor,
    ConsentCapture,
    CustomerProfile,
    Interaction,
    PersonalDetails,
    notice_sha256,
)
from domain.access import PersonalDataAccess
from ledger import create_signing_key
from projections import ProjectionRunner, SQLiteDatabase
from projections.sql import Database, PostgresDatabase

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
EVENTS_PER_CUSTOMER = 10  # registered, consent, 2 stages, owner, contact, 3 x
# interaction, 1 recorded read
SALES = Actor("bench-sales", "sales")
ADMIN = Actor("bench-admin", "admin")
NOTICE = ("Chúng tôi gửi ưu đãi qua e-mail.", "We send offers by e-mail.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=500)
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
            measure(settings, arguments.events, arguments.batch_size)


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


def measure(settings: Settings, events: int, batch_size: int) -> None:
    title = "PostgreSQL" if settings.uses_postgres else "SQLite"
    services = open_services(settings)
    try:
        started = time.perf_counter()
        stored = store_events(services, events)
        print(
            f"\n{title}: stored {stored:,} events in "
            f"{time.perf_counter() - started:.0f} s; catching up in batches of "
            f"{batch_size}; load average {os.getloadavg()[0]:.1f}"
        )
        raw = raw_read(services, batch_size)
        print(f"{'raw read of the notifications':<32} {stored / raw:>10,.0f} events/s")
        decoded = raw_read(services, batch_size, decode=True)
        print(
            f"{'raw read, each event decoded':<32} {stored / decoded:>10,.0f} events/s"
            f"   {raw / decoded:5.0%} of the raw read"
        )
        for runner in services.runners:
            seconds = catch_up(services, settings, runner, batch_size)
            print(
                f"{runner.read_model.name:<32} {stored / seconds:>10,.0f} events/s"
                f"   {raw / seconds:5.0%} of the raw read"
            )
    finally:
        services.close()


def store_events(services: Services, events: int) -> int:
    """About `events` events: customers with consents, changes, interactions and
    recorded reads, saved many aggregates per transaction."""
    crm = services.crm
    crm.define_purpose(
        ADMIN,
        "marketing-email",
        "Tiếp thị",
        "Marketing",
        "consent",
        [("c", "basic")],
        9,
    )
    crm.publish_notice(ADMIN, "marketing-email", *NOTICE)
    consent = ConsentCapture(
        "marketing-email", 1, notice_sha256(*NOTICE), "web-form", "form-1"
    )
    customers = max(1, (events - 2) // EVENTS_PER_CUSTOMER)
    for first in range(0, customers, 200):
        aggregates: list[Any] = []
        for number in range(first, min(first + 200, customers)):
            customer = crm._new_customer(
                SALES,
                PersonalDetails(
                    f"Nguyễn Văn {number}", f"0912 {number % 1000:03d} 678"
                ),
                CustomerProfile(),
                [consent],
            )
            customer.change_stage("prospect", str(SALES))
            customer.assign_owner("Trần Thu Hà", str(SALES))
            customer.change_contact_details(
                None, f"khach{number}@example.vn", None, str(SALES)
            )
            customer.change_stage("customer", str(SALES))
            aggregates.append(customer)
            for kind in ("call", "email", "meeting"):
                aggregates.append(
                    Interaction._create(
                        Interaction.Logged,
                        customer_id=customer.id,
                        kind=kind,
                        text="Đã gọi điện tư vấn sản phẩm.",
                        occurred_at=customer.modified_on,
                        actor=str(SALES),
                    )
                )
            aggregates.append(
                PersonalDataAccess._create(
                    PersonalDataAccess.Recorded,
                    customer_id=customer.id,
                    purpose_code="marketing-email",
                    fields=["email", "full_name"],
                    actor=str(SALES),
                )
            )
        crm.save(*aggregates)
    return crm.recorder.max_notification_id() or 0


def raw_read(services: Services, batch_size: int, *, decode: bool = False) -> float:
    """Seconds to read every notification, in batches, doing nothing with them;
    with `decode`, also turning each into its domain event as every runner does
    (personal fields left sealed): the ceiling of a read model fed domain events."""
    recorder = services.crm.recorder
    mapper = services.runner.mapper
    started, position = time.perf_counter(), 0
    while notifications := recorder.select_notifications(
        start=position + 1, limit=batch_size
    ):
        if decode:
            for notification in notifications:
                mapper.to_sealed_domain_event(notification)
        position = notifications[-1].id
    return time.perf_counter() - started


def catch_up(
    services: Services, settings: Settings, live: ProjectionRunner, batch_size: int
) -> float:
    """Seconds for a new runner of `live`'s read model to catch up from zero on a
    fresh read-model database."""
    database = fresh_read_models(settings)
    try:
        runner = ProjectionRunner(
            live.read_model,  # same dialect, so the same table names
            database,
            services.crm.recorder,
            live.mapper,
            batch_size=batch_size,
        )
        started = time.perf_counter()
        runner.catch_up()
        return time.perf_counter() - started
    finally:
        database.close()


def fresh_read_models(settings: Settings) -> Database:
    if not settings.uses_postgres:
        return SQLiteDatabase(settings.data_dir / f"bench-{uuid.uuid4().hex}.sqlite3")
    database = PostgresDatabase(settings.database_url)
    with database.transaction() as cursor:
        cursor.execute("DROP SCHEMA IF EXISTS projections CASCADE")
    return database


if __name__ == "__main__":
    main()
