"""A raw scan of everything stored, logged and exported: personal values never
appear in plaintext, before erasure or after it, on SQLite and on PostgreSQL."""

import json
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from api.wiring import Services
from tests.api.conftest import Caller, registration

ROOT = Path(__file__).resolve().parents[2]


def store_marked_customer(
    callers: dict[str, Caller], purpose: dict[str, Any]
) -> dict[str, Any]:
    """Registers, changes, notes, reads and searches a customer whose personal
    values carry markers; returns the markers and the customer's id."""
    personal = f"Qz{uuid.uuid4().hex[:12]}"
    visible = f"Tag{uuid.uuid4().hex[:12]}"
    phone = "091" + "".join(random.choices("0123456789", k=7))
    body = registration(
        purpose,
        full_name=f"Nguyễn {personal}",
        phone=phone,
        email=f"{personal}@example.vn",
        postal_address=f"12 {personal} Street",
        tags=[visible],
    )
    sales = callers["sales"]
    written = sales.post("/v1/customers", json=body).json()
    sales.patch(
        f"/v1/customers/{written['id']}/contact-details",
        json={"email": f"new.{personal}@example.vn"},
    )
    noted = sales.post(
        f"/v1/customers/{written['id']}/interactions",
        json={"kind": "note", "text": f"Called {personal} about prices"},
    ).json()
    read = sales.get(
        f"/v1/customers/{written['id']}",
        params={"purpose": purpose["code"], "after_position": noted["position"]},
    )
    assert personal in read.text, "the flow must really open the sealed values"
    for query in ({"phone": phone}, {"email": f"new.{personal}@example.vn"}):
        found = sales.post(
            "/v1/customers/search",
            json={**query, "after_position": noted["position"]},
        )
        assert [c["id"] for c in found.json()["customers"]] == [written["id"]]
    return {
        "id": written["id"],
        "visible": visible,
        "personal": [personal, phone, "+84" + phone[1:]],
    }


def export_ledger(services: Services, folder: Path) -> bytes:
    """`ledgercrm ledger export` as a real process; its files and its output."""
    settings = services.settings
    env = {
        **os.environ,
        "LEDGERCRM_DATA_DIR": str(settings.data_dir),
        "LEDGERCRM_DATABASE_URL": settings.database_url,
        "LEDGERCRM_LOG_LEVEL": "debug",
    }
    run = subprocess.run(
        [sys.executable, "-m", "api", "ledger", "export", str(folder), "--quiet"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout + run.stderr + read_files(folder)


# Reads every file under a folder and writes the bytes to stdout. A live server's
# files keep changing (runners append to the -wal file) and may vanish (a -shm file
# on close): the scan wants whatever bytes are there, so neither is an error, which
# is why this is not `tar` (exit status 1 on "file changed as we read it").
CONCATENATE = """
import os, sys
out = sys.stdout.buffer
for top, _, names in os.walk(sys.argv[1]):
    for name in sorted(names):
        try:
            with open(os.path.join(top, name), "rb") as f:
                out.write(f.read())
        except FileNotFoundError:
            pass
"""


def read_files(folder: Path) -> bytes:
    """Every file's bytes, read by another process: opening and closing a SQLite
    file here would drop this process's POSIX locks on it, which SQLite needs."""
    return subprocess.run(
        [sys.executable, "-c", CONCATENATE, str(folder)],
        check=True,
        capture_output=True,
    ).stdout


def everything_at_rest(services: Services) -> bytes:
    """Every file of the data folder (databases with their -wal and -shm, keys,
    ledger) and, on PostgreSQL, a dump of every schema of the database."""
    stored = read_files(Path(services.settings.data_dir))
    if services.settings.uses_postgres:
        stored += subprocess.run(
            ["pg_dump", "--no-owner", services.settings.database_url],
            check=True,
            capture_output=True,
        ).stdout
    return stored


def hits(blob: bytes, markers: list[str]) -> list[str]:
    return [
        m for m in markers if m.encode() in blob or json.dumps(m)[1:-1].encode() in blob
    ]


@pytest.mark.requirement("ENCRYPT-AT-REST")
@pytest.mark.requirement("DSR-ERASE")
def test_personal_values_appear_nowhere_at_rest_in_logs_or_exports(
    callers: dict[str, Caller],
    marketing: dict[str, Any],
    services: Services,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level("DEBUG")
    markers = store_marked_customer(callers, marketing)
    customer_id = uuid.UUID(markers["id"])

    if not services.settings.uses_postgres:
        names = [p.name for p in services.settings.data_dir.iterdir()]
        assert "events.sqlite3-wal" in names and "events.sqlite3-shm" in names
    before = everything_at_rest(services)
    exported = export_ledger(services, tmp_path / "export-before")
    assert markers["visible"].encode() in before, "the scan must see the stored rows"
    assert hits(before, markers["personal"]) == []
    assert hits(exported, markers["personal"]) == []

    erased = callers["dpo"].post(
        f"/v1/customers/{markers['id']}/erasure", json={"ground": "DSR 77"}
    )

    assert erased.status_code == 200, erased.text
    assert hits(erased.content, markers["personal"]) == []
    after = everything_at_rest(services)
    exported_after = export_ledger(services, tmp_path / "export-after")
    assert hits(after, markers["personal"]) == []
    assert hits(exported_after, markers["personal"]) == []
    assert hits(caplog.text.encode(), markers["personal"]) == []
    assert services.lookups.count_for(services.read_models, customer_id) == 0
