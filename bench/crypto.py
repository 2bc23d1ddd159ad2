"""Sealing cost per field against raw AESGCM, and erasure time against history.

Prints figures and ratios measured in one run; asserts nothing about speed.
"""

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, UUIDAsHex

from api.erasure import erasure_certificate
from api.settings import load_settings
from api.wiring import Services, open_services
from crypto_shredding import (
    DataKeys,
    FieldContext,
    create_wrapping_key_file,
    load_wrapping_keys,
)
from crypto_shredding.mapper import PersonalDataMapper
from crypto_shredding.sealing import SealedValue
from crypto_shredding.sqlite_key_store import SQLiteKeyStore
from domain import Actor, ConsentCapture, CustomerProfile, PersonalDetails
from ledger import create_signing_key

VALUE = "Nguyễn Thị Minh Khai, 12 Lý Thường Kiệt, Hoàn Kiếm, Hà Nội"
ADMIN, SALES, DPO = (
    Actor("b-admin", "admin"),
    Actor("b-sales", "sales"),
    Actor("b", "dpo"),
)
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def rate(operation: Callable[[], object], count: int) -> float:
    """Operations per second, the best of three runs of `count`."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(count):
            operation()
        best = min(best, time.perf_counter() - start)
    return count / best


def sealing_rates(folder: Path, count: int) -> None:
    """Seal and open one personal field through the mapper's path vs raw AESGCM."""
    create_wrapping_key_file(folder / "wrapping_key.json")
    store = SQLiteKeyStore(folder / "keys.sqlite3")
    data_keys = DataKeys(store, load_wrapping_keys(folder / "wrapping_key.json"))
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DatetimeAsISO()):
        transcoder.register(transcoding)
    mapper = PersonalDataMapper(transcoder, data_keys)
    subject = uuid.uuid4()
    context = FieldContext(subject, subject, 1, "postal_address")
    from crypto_shredding.sealing import seal

    data_key = data_keys.for_writing(subject)
    sealed = SealedValue(context, seal(data_key, transcoder.encode(VALUE), context))
    raw, nonce = AESGCM(data_key), os.urandom(12)
    plaintext, ad = transcoder.encode(VALUE), context.associated_data()
    raw_sealed = raw.encrypt(nonce, plaintext, ad)

    def seal_field() -> None:
        key = data_keys.for_writing(subject)  # the cached key, as the mapper gets it
        seal(key, transcoder.encode(VALUE), context)

    rows = [
        ("seal (data key from cache)", rate(seal_field, count)),
        ("raw AESGCM.encrypt", rate(lambda: raw.encrypt(nonce, plaintext, ad), count)),
        ("open (mapper.open_sealed)", rate(lambda: mapper.open_sealed(sealed), count)),
        ("raw AESGCM.decrypt", rate(lambda: raw.decrypt(nonce, raw_sealed, ad), count)),
    ]
    print(
        f"\nOne personal field ({len(plaintext)} bytes), {count} operations, best of 3"
    )
    for name, value in rows:
        print(f"  {name:<30} {value:>12,.0f} /s")
    print(f"  seal costs {rows[1][1] / rows[0][1]:.2f}x raw encrypt")
    print(f"  open costs {rows[3][1] / rows[2][1]:.2f}x raw decrypt")
    store.close()


def customer_with_history(
    services: Services, events: int, interactions: int = 0
) -> uuid.UUID:
    """A customer whose stream holds `events` events, half of them sealed contact
    changes, recorded in batches of 1000 as a long-lived customer would have, and
    `interactions` logged interactions (sealed notes, aggregates of their own)."""
    crm = services.crm
    sha = crm.purpose("care").notice(1)["text_sha256"]  # type: ignore[index]
    customer_id = crm.register_customer(
        SALES,
        PersonalDetails("Trần Văn Lịch Sử", phone="0912 345 678"),
        CustomerProfile(),
        consents=[ConsentCapture("care", 1, sha, "web-form", "form")],
    ).id
    remaining = events - 2
    while remaining > 0:
        customer = crm.customer(customer_id)
        for n in range(min(remaining, 1000)):
            if n % 2:
                customer.change_stage(("lead", "prospect")[n % 4 // 2], str(SALES))
            else:
                customer.change_contact_details(
                    None, f"c{n}@example.vn", None, str(SALES)
                )
        remaining -= min(remaining, 1000)
        crm.save(customer)
    for n in range(interactions):
        crm.log_interaction(SALES, customer_id, "note", f"Gọi lại lần {n}")
    for runner in services.runners:
        runner.catch_up()
    return customer_id


def erase(services: Services, customer_id: uuid.UUID) -> tuple[float, float, float]:
    """Steps 1 to 5 of the erasure routine, the read side applied synchronously;
    returns the time of steps 1 to 3 (the shred), of all five, and of the
    background sweep that clears the sealed copies afterwards."""
    start = time.perf_counter()
    services.crm.erase_customer(DPO, customer_id, "bench")
    shredded = time.perf_counter()
    for runner in services.runners:
        runner.catch_up()
    erasure_certificate(services, customer_id)
    certified = time.perf_counter()
    for runner in services.runners:
        runner.sweep_all()
    return shredded - start, certified - start, time.perf_counter() - certified


def erasure_times(
    folder: Path, database_url: str, events: int, repeats: int, interactions: int
) -> None:
    settings = load_settings(data_dir=folder / "var", database_url=database_url)
    create_wrapping_key_file(settings.key_file)
    create_signing_key(settings.signing_key_file, settings.ledger_origin)
    services = open_services(settings)
    try:
        crm = services.crm
        crm.define_purpose(
            ADMIN, "care", "Chăm sóc", "Care", "consent", [("c", "basic")], 9
        )
        crm.publish_notice(ADMIN, "care", "Thông báo", "Notice")
        erase(services, customer_with_history(services, 1))  # warm-up
        shapes = {"1 event": (1, 0), f"{events:,} events": (events, 0)}
        if interactions:
            shapes[f"{interactions:,} interactions"] = (1, interactions)
        timings: dict[str, list[tuple[float, float, float]]] = {s: [] for s in shapes}
        for _ in range(repeats):
            for label, shape in shapes.items():
                customer_id = customer_with_history(services, *shape)
                timings[label].append(erase(services, customer_id))
    finally:
        services.close()
    backend = "PostgreSQL" if database_url else "SQLite"
    print(f"\nErasure on {backend}, median of {repeats} (ms; ratio to 1 event):")
    print(
        f"  {'customer with':<34} {'steps 1-3':>9} {'ratio':>6} {'1-5':>9} {'ratio':>6}"
        f" {'sweep after':>11}"
    )
    reference = [statistics.median(t[i] for t in timings["1 event"]) for i in (0, 1)]
    for label, runs in timings.items():
        shred, whole, sweep = (statistics.median(t[i] for t in runs) for i in (0, 1, 2))
        print(
            f"  {label:<34} {shred * 1000:9.1f} {shred / reference[0]:6.2f}"
            f" {whole * 1000:9.1f} {whole / reference[1]:6.2f} {sweep * 1000:11.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--operations", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--interactions", type=int, default=0, help="also erase one with N notes"
    )
    parser.add_argument(
        "--backend", choices=["sqlite", "postgres", "both"], default="both"
    )
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sealing_rates(Path(folder), arguments.operations)
    backends = {"sqlite": [""], "postgres": ["pg"], "both": ["", "pg"]}[
        arguments.backend
    ]
    for backend in backends:
        with tempfile.TemporaryDirectory() as folder:
            if backend:
                with fresh_postgres(arguments.postgres) as url:
                    erasure_times(
                        Path(folder),
                        url,
                        arguments.events,
                        arguments.repeats,
                        arguments.interactions,
                    )
            else:
                erasure_times(
                    Path(folder),
                    "",
                    arguments.events,
                    arguments.repeats,
                    arguments.interactions,
                )


def fresh_postgres(server: str):  # type: ignore[no-untyped-def]
    """A new database on `server`, dropped afterwards."""
    from contextlib import contextmanager

    import psycopg

    @contextmanager
    def database():  # type: ignore[no-untyped-def]
        name = f"ledgercrm_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
            try:
                yield server.rsplit("/", 1)[0] + "/" + name
            finally:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return database()


if __name__ == "__main__":
    main()
