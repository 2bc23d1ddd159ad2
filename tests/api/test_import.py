"""`ledgercrm import customers FILE.csv`: through the application, row by row."""

import csv
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from api.importer import ImportFileError, check_file, import_customers
from api.settings import Settings
from api.wiring import Services
from crypto_shredding import KeyStore, Tombstone, WrappedDataKey
from crypto_shredding.key_store import StoredKey
from domain import Actor, notice_sha256

ADMIN = Actor("boss", "admin")
IMPORTER = Actor("data-migration", "sales")
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
    "agreement1_purpose",
    "agreement1_ref",
]


def good_row(number: int, **changes: str) -> dict[str, str]:
    row = {
        "full_name": f"Nguyễn Văn {number}",
        "phone": f"0912 345 {number:03d}",
        "email": f"khach{number}@example.vn",
        "date_of_birth": "1990-04-30",
        "stage": "prospect",
        "tags": "hội chợ|vip",
        "consent1_purpose": "marketing-email",
        "consent1_notice_version": "1",
        "consent1_channel": "paper-form",
        "consent1_evidence_ref": f"SCAN-{number:04d}",
        "agreement1_purpose": "",
        "agreement1_ref": "",
    }
    return {**row, **changes}


def write_csv(
    path: Path, rows: list[dict[str, str]], header: list[str] = HEADER
) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def purposes(services: Services) -> None:
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
    crm.define_purpose(
        ADMIN, "customer-care", "Chăm sóc", "Care", "agreement", [("c", "basic")], 9
    )


def imported(services: Services) -> list[Any]:
    services.runner.catch_up()
    return services.customers.customers(services.read_models, limit=1000)


@pytest.mark.usefixtures("purposes")
def test_good_rows_are_stored_with_their_consents_and_evidence(
    services: Services, tmp_path: Path
) -> None:
    rows = [good_row(n) for n in range(1, 8)]
    rows.append(
        good_row(
            8,
            consent1_purpose="",
            agreement1_purpose="customer-care",
            agreement1_ref="HD-2026-8",
        )
    )
    path = write_csv(tmp_path / "customers.csv", rows)

    report = import_customers(services.crm, IMPORTER, path, batch_size=3)

    assert (report.imported, report.refused) == (8, [])
    customers = imported(services)
    assert len(customers) == 8
    assert report.position == services.runner.head()
    consented = [c for c in customers if "marketing-email" in c.consents]
    assert len(consented) == 7
    assert {c.stage for c in customers} == {"prospect"}
    assert all(c.tags == ["hội chợ", "vip"] for c in customers)
    evidence = {
        services.crm.customer(c.customer_id).consents["marketing-email"]["evidence_ref"]
        for c in consented
    }
    assert evidence == {f"SCAN-{n:04d}" for n in range(1, 8)}
    agreed = [c for c in customers if c.agreements]
    assert agreed[0].agreements == {"customer-care": "HD-2026-8"}


class CountingKeyStore(KeyStore):
    """The service's own key store, counting the calls that write keys."""

    def __init__(self, store: KeyStore) -> None:
        self.store = store
        self.writes: list[int] = []  # how many keys each write call carried

    def find(self, subject_id: UUID) -> StoredKey | None:
        return self.store.find(subject_id)

    def find_many(self, subject_ids: Sequence[UUID]) -> dict[UUID, StoredKey]:
        return self.store.find_many(subject_ids)

    def add(self, data_key: WrappedDataKey) -> StoredKey:
        self.writes.append(1)
        return self.store.add(data_key)

    def add_many(self, data_keys: Sequence[WrappedDataKey]) -> list[StoredKey]:
        self.writes.append(len(data_keys))
        return self.store.add_many(data_keys)

    def shred(self, subject_id: UUID, reason: str, at: datetime) -> Tombstone:
        return self.store.shred(subject_id, reason, at)

    def shred_version(self) -> int:
        return self.store.shred_version()

    def wrapping_key_versions(self) -> dict[int, int]:
        return self.store.wrapping_key_versions()

    def wrapped_by(self, version: int, limit: int) -> list[WrappedDataKey]:
        return self.store.wrapped_by(version, limit)

    def rewrap(self, old: WrappedDataKey, wrapped: bytes, version: int) -> bool:
        return self.store.rewrap(old, wrapped, version)

    def close(self) -> None:
        self.store.close()


@pytest.mark.usefixtures("purposes")
def test_a_batch_creates_its_data_keys_in_one_key_store_write(
    services: Services, tmp_path: Path
) -> None:
    counting = CountingKeyStore(services.data_keys.store)
    services.data_keys.store = counting
    path = write_csv(tmp_path / "customers.csv", [good_row(n) for n in range(1, 8)])

    report = import_customers(services.crm, IMPORTER, path, batch_size=4)

    assert report.imported == 7
    assert counting.writes == [4, 3]
    names = {services.crm.customer(c.customer_id).full_name for c in imported(services)}
    assert names == {f"Nguyễn Văn {n}" for n in range(1, 8)}


@pytest.mark.usefixtures("purposes")
def test_each_bad_row_is_reported_with_its_line_and_reason_and_not_stored(
    services: Services, tmp_path: Path
) -> None:
    rows = [
        good_row(1),
        good_row(2, phone="12"),  # line 3
        good_row(3, consent1_purpose="", agreement1_purpose=""),  # line 4: no basis
        good_row(4, consent1_notice_version="7"),  # line 5: no such notice
        good_row(5, full_name=""),  # line 6
        good_row(6, stage="vip"),  # line 7
        good_row(7, consent1_purpose="no-such-purpose"),  # line 8
        good_row(8, agreement1_purpose="marketing-email", agreement1_ref="X"),  # 9
        good_row(9),
    ]
    path = write_csv(tmp_path / "customers.csv", rows)

    report = import_customers(services.crm, IMPORTER, path, batch_size=4)

    reasons = {refused.line: refused.reason for refused in report.refused}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9]
    assert reasons[3].startswith("phone:")
    assert "consent or an agreement" in reasons[4]
    assert "notice version 7" in reasons[5]
    assert reasons[6].startswith("full_name:")
    assert reasons[7].startswith("stage:")
    assert "no-such-purpose" in reasons[8]
    assert "rests on consent" in reasons[9]
    assert report.imported == 2
    assert len(imported(services)) == 2
    assert not [r for r in reasons.values() if "Nguyễn" in r or "example.vn" in r]


@pytest.mark.usefixtures("purposes")
def test_a_consent_naming_another_notice_text_is_refused(
    services: Services, tmp_path: Path
) -> None:
    header = [*HEADER, "consent1_notice_sha256"]
    wrong = notice_sha256("Một văn bản khác.", "Another text.")
    path = write_csv(
        tmp_path / "c.csv", [good_row(1, consent1_notice_sha256=wrong)], header
    )

    report = import_customers(services.crm, IMPORTER, path)

    assert report.imported == 0
    assert "notice_sha256 does not match" in report.refused[0].reason


@pytest.mark.usefixtures("purposes")
def test_a_row_with_extra_cells_is_refused_alone(
    services: Services, tmp_path: Path
) -> None:
    path = tmp_path / "c.csv"
    write_csv(path, [good_row(1)])
    with path.open("a", encoding="utf-8") as file:
        file.write("Lê Thị Hà,0912 000 111,extra,,,,,,,,,,,\n")

    report = import_customers(services.crm, IMPORTER, path)

    assert report.imported == 1
    assert report.refused[0].line == 3
    assert "number of cells" in report.refused[0].reason


def test_a_file_with_an_unknown_column_is_refused_whole(
    services: Services, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "c.csv", [good_row(1)], [*HEADER, "national_id"])

    with pytest.raises(ImportFileError, match="national_id"):
        check_file(path)


def test_malformed_csv_is_refused_before_anything_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text('full_name,phone\n"Nguyễn Văn A,0912 345 678\n', encoding="utf-8")

    with pytest.raises(ImportFileError, match="not valid CSV"):
        check_file(path)


def test_a_file_not_in_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes("full_name\nNguyễn Văn A\n".encode("utf-16"))

    with pytest.raises(ImportFileError):
        check_file(path)


@pytest.mark.usefixtures("purposes")
def test_the_import_command_reports_refused_rows_and_exits_1(
    settings: Settings, services: Services, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "customers.csv", [good_row(1), good_row(2, email="not-an-email")]
    )
    environment = {
        **os.environ,
        "LEDGERCRM_DATA_DIR": str(settings.data_dir),
        "LEDGERCRM_DATABASE_URL": settings.database_url,
    }

    result = subprocess.run(
        [sys.executable, "-m", "api", "import", "customers", str(path), "--by", "an"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1, result.stderr
    assert f"{path}, line 3: email:" in result.stderr
    assert "imported 1 customers" in result.stdout
    assert "not-an-email" not in result.stdout + result.stderr
    assert len(imported(services)) == 1
    events = services.crm.recorder.select_notifications(start=1, limit=100)
    assert any(b"sales:an" in n.state for n in events)
