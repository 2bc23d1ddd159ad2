"""All log output of a full flow, at DEBUG, from a real server and the commands
around it: no personal value appears in any line."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import consent_body, purpose_body
from tests.api.test_cli import admin_token, free_port, wait_for_answer

MARKER = "Qzlogmarker"
PHONE = "0913 579 246"
PERSONAL = [MARKER, PHONE, "0913579246", "+84913579246", "913579246"]


def run(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def full_flow(base: str, tokens: dict[str, str]) -> list[httpx.Response]:
    """Purpose, registration, change, note, read, search, erasure, certificate."""

    def call(role: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {tokens[role]}"}
        return httpx.request(method, base + path, headers=headers, timeout=30, **kwargs)

    call("admin", "POST", "/v1/purposes", json=purpose_body("care", "consent"))
    notice = call(
        "admin",
        "POST",
        "/v1/purposes/care/notices",
        json={"text_vi": "a", "text_en": "b"},
    ).json()
    purpose = {"code": "care", "version": 1, "sha": notice["text_sha256"]}
    body = {
        "full_name": f"Trần {MARKER}",
        "phone": PHONE,
        "email": f"{MARKER}@example.vn",
        "postal_address": f"9 {MARKER} Road",
        "consents": [consent_body(purpose)],
    }
    customer = call("sales", "POST", "/v1/customers", json=body).json()
    path = f"/v1/customers/{customer['id']}"
    answers = [
        call(
            "sales",
            "PATCH",
            path + "/contact-details",
            json={"email": f"x.{MARKER}@example.vn"},
        ),
        call(
            "sales",
            "POST",
            path + "/interactions",
            json={"kind": "note", "text": MARKER},
        ),
        call(
            "sales",
            "POST",
            path + "/interactions",
            json={"kind": "bogus", "text": MARKER},
        ),
        call("sales", "POST", "/v1/customers", json={**body, "email": f"bad {MARKER}"}),
    ]
    position = answers[1].json()["position"]
    answers += [
        call(
            "sales", "GET", path, params={"purpose": "care", "after_position": position}
        ),
        call(
            "sales",
            "POST",
            "/v1/customers/search",
            json={"phone": PHONE, "after_position": position},
        ),
        call("sales", "POST", "/v1/customers/search", json={"name": f"tran {MARKER}"}),
        call(
            "manager",
            "POST",
            "/v1/customers/search",
            json={"email": f"{MARKER}@example.vn"},
        ),
        call("dpo", "POST", path + "/erasure", json={"ground": "DSR 5"}),
        call("dpo", "GET", path + "/erasure-certificate"),
        call("sales", "GET", path, params={"purpose": "care"}),
    ]
    return answers


@pytest.mark.requirement("ENCRYPT-AT-REST")
def test_full_flow_logs_no_personal_value_at_debug(
    database_url: str, tmp_path: Path
) -> None:
    data_dir, port = tmp_path / "var", free_port()
    env = {
        **os.environ,
        "LEDGERCRM_DATA_DIR": str(data_dir),
        "LEDGERCRM_DATABASE_URL": ""
        if database_url.startswith("sqlite")
        else database_url,
        "LEDGERCRM_PORT": str(port),
        "LEDGERCRM_LOG_LEVEL": "debug",
    }
    outputs = [run(env, "init")]
    tokens = {"admin": admin_token(outputs[0].stdout)}
    for role in ("sales", "dpo", "manager"):
        outputs.append(run(env, "token", "create", "--role", role, "--name", role))
        tokens[role] = admin_token(outputs[-1].stdout)
    server = subprocess.Popen(
        [sys.executable, "-m", "api", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_answer(f"http://127.0.0.1:{port}/healthz", tokens["admin"])
        answers = full_flow(f"http://127.0.0.1:{port}", tokens)
    finally:
        server.terminate()
        server_out, server_err = server.communicate(timeout=30)
    outputs.append(run(env, "keys", "rotate", "--quiet"))
    outputs.append(run(env, "ledger", "export", str(tmp_path / "export"), "--quiet"))

    assert [a.status_code for a in answers] == [
        200,
        201,
        422,
        422,
        200,
        200,
        200,
        403,
        200,
        200,
        404,
    ]
    logs = server_out + server_err + "".join(o.stdout + o.stderr for o in outputs)
    assert "DEBUG" in logs and "/erasure" in logs, "the logs must cover the flow"
    assert [value for value in PERSONAL if value in logs] == []
