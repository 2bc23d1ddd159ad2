"""A raw scan of everything stored: personal values never appear in plaintext."""

import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from api.wiring import Services
from tests.api.conftest import Caller, registration


def store_marked_customer(
    callers: dict[str, Caller], purpose: dict[str, Any]
) -> dict[str, str]:
    """Registers, changes and notes a customer whose personal values carry markers."""
    personal = f"Qz{uuid.uuid4().hex[:12]}"
    visible = f"Tag{uuid.uuid4().hex[:12]}"
    body = registration(
        purpose,
        full_name=f"Nguyễn {personal}",
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
    sales.get(
        f"/v1/customers/{written['id']}",
        params={"purpose": purpose["code"], "after_position": noted["position"]},
    )
    return {"personal": personal, "visible": visible}


@pytest.mark.requirement("ENCRYPT-AT-REST")
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_personal_values_appear_in_no_sqlite_file_nor_log(
    callers: dict[str, Caller],
    marketing: dict[str, Any],
    services: Services,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if services.settings.uses_postgres:
        pytest.skip(
            "this scan reads the SQLite files; the PostgreSQL twin uses pg_dump"
        )
    caplog.set_level("DEBUG")

    markers = store_marked_customer(callers, marketing)

    stored = b"".join(
        path.read_bytes()
        for path in Path(services.settings.data_dir).iterdir()
        if path.is_file()
    )
    assert markers["visible"].encode() in stored, "the scan must see the stored rows"
    assert markers["personal"].encode() not in stored
    assert markers["personal"] not in caplog.text


@pytest.mark.requirement("ENCRYPT-AT-REST")
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_personal_values_appear_nowhere_in_a_postgres_dump(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:

    markers = store_marked_customer(callers, marketing)

    dump = subprocess.run(
        ["pg_dump", "--no-owner", services.settings.database_url],
        check=True,
        capture_output=True,
    ).stdout
    assert markers["visible"].encode() in dump, "the dump must hold the stored rows"
    assert markers["personal"].encode() not in dump
