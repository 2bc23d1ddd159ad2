"""CSV import throughput against raw PostgreSQL COPY of comparable rows.

Writes a CSV of --rows customers (Vietnamese names, phones, e-mails, a consent
with its evidence reference each), imports it with `ledgercrm import customers`'s
code path (api.importer.import_customers: every rule, sealing, data keys, events)
into a fresh PostgreSQL database, then COPYs the same rows into a plain table of
the same columns in another fresh database. Prints rows per second and the ratio;
asserts nothing.

    .venv/bin/python bench/import.py [--rows N] [--batch-size B]
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.importer import check_file, import_customers
from api.settings import load_settings
from api.wiring import open_services
from crypto_shredding import create_wrapping_key_file
from domain import Actor
from ledger import create_signing_key

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
ADMIN = Actor("bench-admin", "admin")
IMPORTER = Actor("bench-import", "sales")
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi")
GIVEN = ("An", "Bình", "Châu", "Dũng", "Hà", "Hạnh", "Hương", "Khánh", "Linh")
HEADER = [
    "full_name",
    "phone",
    "email",
    "date_of_birth",
    "stage",
    "tags",
    "consent1_purpose",
    "consent1_notice_version",
    "consent1_channel",
    "consent1_evidence_ref",
]
RAW_TABLE = """
    CREATE TABLE customers (
        id uuid PRIMARY KEY, full_name text NOT NULL, phone text, email text,
        date_of_birth text, stage text NOT NULL, tags text, consent_purpose text,
        consent_notice_version integer, consent_channel text,
        consent_evidence_ref text
    )"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = write_csv(Path(folder) / "customers.csv", arguments.rows)
        with fresh_database(arguments.postgres) as url:
            imported = ledgercrm_import(Path(folder), url, path, arguments.batch_size)
        with fresh_database(arguments.postgres) as url:
            copied = raw_copy(url, path)
    rows = arguments.rows
    print(f"\nPostgreSQL: {rows:,} customers from CSV, rows per second")
    print(f"{'ledgercrm import customers':<30} {rows / imported:>10,.0f}")
    print(f"{'raw COPY of the same rows':<30} {rows / copied:>10,.0f}")
    print(f"{'import / COPY':<30} {copied / imported:>10.1%}")


def write_csv(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        for number in range(rows):
            writer.writerow(
                [
                    f"{FAMILY[number % 9]} Văn {GIVEN[number // 9 % 9]} {number}",
                    f"09{number % 100_000_000:08d}",
                    f"khach{number}@example.vn",
                    f"19{60 + number % 40}-0{1 + number % 9}-1{number % 10}",
                    "lead",
                    "hội chợ|2026",
                    "marketing-email",
                    "1",
                    "paper-form",
                    f"SCAN-{number:06d}",
                ]
            )
    return path


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    name = f"ledgercrm_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def ledgercrm_import(folder: Path, url: str, path: Path, batch_size: int) -> float:
    settings = load_settings(data_dir=folder / "var", database_url=url)
    create_wrapping_key_file(settings.key_file)
    create_signing_key(settings.signing_key_file, settings.ledger_origin)
    services = open_services(settings)
    try:
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
        crm.publish_notice(ADMIN, "marketing-email", "Chúng tôi gửi ưu đãi.", "Offers.")
        started = time.perf_counter()
        check_file(path)
        report = import_customers(crm, IMPORTER, path, batch_size=batch_size)
        seconds = time.perf_counter() - started
    finally:
        services.close()
    assert not report.refused, report.refused[:3]
    return seconds


def raw_copy(url: str, path: Path) -> float:
    """COPY of the same rows, each with a new uuid, into a plain table."""
    with psycopg.connect(url) as connection:
        connection.execute(RAW_TABLE)
        connection.commit()
        started = time.perf_counter()
        with path.open(encoding="utf-8", newline="") as file:
            reader = csv.reader(file)
            next(reader)
            with (
                connection.cursor() as cursor,
                cursor.copy("COPY customers FROM STDIN") as copy,
            ):
                for row in reader:
                    copy.write_row([uuid.uuid4(), *row])
        connection.commit()
        return time.perf_counter() - started


if __name__ == "__main__":
    main()
