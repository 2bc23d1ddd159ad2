"""A raw scan after the privacy office's workflows: requesters', complainants',
incidents' and representatives' words never appear in plaintext at rest."""

import subprocess
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from api.wiring import Services
from tests.api.conftest import Caller, registration


def run_workflows(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> dict[str, str]:
    personal = f"Qz{uuid.uuid4().hex[:12]}"
    visible = f"Ground{uuid.uuid4().hex[:12]}"
    dpo, client = callers["dpo"], callers["dpo"].client
    born = date(date.today().year - 5, 1, 1).isoformat()
    # The tag is kept in the clear in the read model: proof that the scan sees rows.
    body = registration(marketing, date_of_birth=born, tags=[visible])
    body["consents"][0]["representative"] = {
        "full_name": f"Mẹ {personal}",
        "relationship": "parent",
        "evidence_ref": "paper-1",
    }
    registered = callers["sales"].post("/v1/customers", json=body)
    assert registered.status_code == 201, registered.json()
    customer_id = registered.json()["id"]
    client.post(
        "/v1/public/requests",
        json={
            "kind": "access",
            "requester_name": f"Bà {personal}",
            "requester_contact": f"{personal}@example.vn",
            "details": f"Tôi là {personal}",
        },
    )
    request_id = dpo.post(
        "/v1/dpo/requests",
        json={"kind": "rectify", "requester_name": personal, "requester_contact": "x"},
    ).json()["id"]
    dpo.post(
        f"/v1/dpo/requests/{request_id}/identity-verification",
        json={"customer_id": customer_id, "method": "signed-request"},
    )
    dpo.post(
        f"/v1/dpo/requests/{request_id}/fulfilment",
        json={"corrections": {"full_name": f"Bé {personal}"}},
    )
    refused = dpo.post(
        "/v1/dpo/requests",
        json={"kind": "erase", "requester_name": "y", "requester_contact": "y"},
    ).json()["id"]
    dpo.post(
        f"/v1/dpo/requests/{refused}/refusal",
        json={"legal_ground": visible, "told_via": "email"},
    )
    dpo.post(
        "/v1/dpo/complaints",
        json={
            "complainant_name": personal,
            "complainant_contact": f"{personal}@example.vn",
            "summary": f"{personal} complains",
        },
    )
    dpo.post(
        "/v1/dpo/incidents",
        json={
            "discovered_at": datetime.now(UTC).isoformat(),
            "form": {"what_happened": f"{personal}'s file was emailed out"},
        },
    )
    services = dpo.client.app.state.services  # type: ignore[attr-defined]
    for runner in services.runners:  # the read side has applied everything
        runner.wait_for(services.crm.recorder.max_notification_id(), 10)
    return {"personal": personal, "visible": visible}


@pytest.mark.requirement("ENCRYPT-AT-REST")
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_privacy_office_words_appear_in_no_sqlite_file_nor_log(
    callers: dict[str, Caller],
    marketing: dict[str, Any],
    services: Services,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")

    markers = run_workflows(callers, marketing)

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
def test_privacy_office_words_appear_nowhere_in_a_postgres_dump(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    markers = run_workflows(callers, marketing)

    dump = subprocess.run(
        ["pg_dump", "--no-owner", services.settings.database_url],
        check=True,
        capture_output=True,
    ).stdout
    assert markers["visible"].encode() in dump, "the dump must hold the stored rows"
    assert markers["personal"].encode() not in dump
