"""Bearer tokens expire and can be revoked or suspended; each is refused at once."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.access import TokenError
from api.wiring import Services
from domain.security import record_security_event, security_events
from ledger.entries import parse_entry
from tests.api.conftest import Caller


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.requirement("ROLE-ACCESS")
def test_an_expired_token_is_refused_with_the_reason(
    client: TestClient, services: Services
) -> None:
    _, token = services.access.create("sales", "short-lived", timedelta(0))

    response = client.get("/v1/purposes", headers=bearer(token))

    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("token expired")


@pytest.mark.requirement("ROLE-ACCESS")
def test_a_revoked_token_is_refused_at_once(
    client: TestClient, services: Services
) -> None:
    principal, token = services.access.create("sales", "leaver")
    before = client.get("/v1/purposes", headers=bearer(token))

    services.access.revoke(principal.principal_id)
    after = client.get("/v1/purposes", headers=bearer(token))

    assert before.status_code == 200
    assert after.status_code == 401
    assert after.json()["error"]["message"].startswith("token revoked")


def test_a_suspended_token_is_refused_until_reinstated(
    client: TestClient, services: Services
) -> None:
    principal, token = services.access.create("sales", "suspect")

    services.access.suspend(principal.principal_id, "test")
    suspended = client.get("/v1/purposes", headers=bearer(token))
    services.access.reinstate(principal.principal_id)
    reinstated = client.get("/v1/purposes", headers=bearer(token))

    assert suspended.status_code == 401
    assert "suspended" in suspended.json()["error"]["message"]
    assert reinstated.status_code == 200


def test_a_wrong_secret_learns_nothing_about_the_token(
    client: TestClient, services: Services
) -> None:
    principal, token = services.access.create("sales", "revoked-one")
    services.access.revoke(principal.principal_id)
    wrong_secret = token[:-4] + "0000"

    response = client.get("/v1/purposes", headers=bearer(wrong_secret))

    assert response.status_code == 401
    assert "unknown token or wrong secret" in response.json()["error"]["message"]


def test_tokens_have_an_expiry_and_record_their_last_use(
    services: Services, callers: dict[str, Caller]
) -> None:
    callers["auditor"].get("/v1/purposes")

    records = {r.name: r for r in services.access.tokens()}

    auditor = records["test-auditor"]
    assert auditor.expires_at is not None
    assert timedelta(days=89) < auditor.expires_at - auditor.created_at
    assert auditor.last_used_at is not None
    assert records["test-sales"].last_used_at is None


def test_revoking_twice_or_an_unknown_token_says_so(services: Services) -> None:
    principal, _ = services.access.create("dpo", "twice")
    services.access.revoke(principal.principal_id)

    with pytest.raises(TokenError, match="already revoked"):
        services.access.revoke(principal.principal_id)
    with pytest.raises(TokenError, match="token list"):
        services.access.revoke("not-a-token-id")


@pytest.mark.requirement("PROCESSING-LOG")
def test_failed_sign_ins_and_forbidden_attempts_become_events_without_secrets(
    client: TestClient, services: Services, callers: dict[str, Caller]
) -> None:
    principal, token = services.access.create("manager", "curious")
    secret = token.split("_")[2]
    wrong = token[:-4] + "ffff"

    client.get("/v1/purposes", headers=bearer(wrong))
    client.get("/v1/ledger/checkpoint", headers=bearer(token))

    failed = security_events(services.crm, "sign-in-failed")
    forbidden = security_events(services.crm, "access-forbidden")
    assert [e.principal_id for e in failed] == [principal.principal_id]
    assert failed[0].details["reason"] == "unknown token or wrong secret"
    assert forbidden[-1].principal_id == principal.principal_id
    assert forbidden[-1].details == {"permission": "ledger:read", "role": "manager"}
    stored = b"".join(
        n.state
        for n in services.crm.recorder.select_notifications(start=None, limit=10_000)
    )
    assert secret.encode() not in stored
    assert wrong.split("_")[2].encode() not in stored


@pytest.mark.requirement("PROCESSING-LOG")
def test_security_events_enter_the_signed_ledger(services: Services) -> None:
    principal, _ = services.access.create("sales", "leaver")
    record_security_event(
        services.crm, "admin:cli", "token-revoked", principal.principal_id
    )

    with services.ledger_integrator() as integrator:
        integrator.run_once()
        integrator.sign_ledger_checkpoint()
    signed = services.ledger.latest_ledger_checkpoint()
    entries = [parse_entry(e) for e in services.ledger.entries(0, signed.size)]

    (entry,) = [e for e in entries if e["topic"].endswith("SecurityEvent.Recorded")]
    assert entry["actor"] == "admin:cli"
