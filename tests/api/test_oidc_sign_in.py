"""Staff sign-in with OpenID Connect access tokens (JWT), keys made in the test."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm

from api.app import create_app
from api.settings import Settings, SettingsError
from api.wiring import Services, open_services
from domain.security import security_events
from tests.api.security_support import reconfigured

ISSUER = "https://login.example.vn/realms/staff"
AUDIENCE = "ledgercrm"


class IdentityProvider:
    """An RSA signing key and its JWKS, as a provider would publish them."""

    def __init__(self, kid: str = "key-1") -> None:
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def token(self, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "staff-0042",
            "iat": now,
            "exp": now + 300,
            "ledgercrm_role": "auditor",
            **claims,
        }
        return jwt.encode(body, self.key, "RS256", headers={"kid": self.kid})


@pytest.fixture
def provider() -> IdentityProvider:
    return IdentityProvider()


def oidc_settings(settings: Settings, **changes: Any) -> Settings:
    return reconfigured(settings, oidc_issuer=ISSUER, oidc_audience=AUDIENCE, **changes)


@pytest.fixture
def oidc_services(
    settings: Settings, provider: IdentityProvider, tmp_path: Path
) -> Iterator[Services]:
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(provider.jwks()))
    opened = open_services(oidc_settings(settings, oidc_jwks_file=jwks_file))
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def oidc_client(oidc_services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(oidc_services, run_background_work=False)) as client:
        yield client


def get(client: TestClient, token: str, path: str = "/v1/ledger/vkey") -> Any:
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.requirement("ROLE-ACCESS")
def test_a_valid_access_token_signs_in_with_the_role_of_its_claim(
    oidc_client: TestClient, provider: IdentityProvider
) -> None:
    auditor = provider.token()
    sales = provider.token(ledgercrm_role=["sales", "unrelated-group"])

    assert get(oidc_client, auditor).status_code == 200
    assert get(oidc_client, sales).status_code == 403  # sales may not read the ledger


def test_an_expired_access_token_is_refused_with_the_reason(
    oidc_client: TestClient, provider: IdentityProvider, oidc_services: Services
) -> None:
    expired = provider.token(exp=int(time.time()) - 3600)

    response = get(oidc_client, expired)

    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("token expired")
    (failed,) = security_events(oidc_services.crm, "sign-in-failed")
    assert failed.details["reason"] == "token expired"


def test_a_token_signed_by_another_key_is_refused_with_the_reason(
    oidc_client: TestClient,
) -> None:
    impostor = IdentityProvider(kid="key-1").token()  # same kid, other key

    response = get(oidc_client, impostor)

    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith(
        "token signature does not verify"
    )


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "another-app"}, "token is for another audience"),
        ({"iss": "https://evil.example/"}, "token is from another issuer"),
        ({"ledgercrm_role": "owner"}, "claim 'ledgercrm_role' must name exactly one"),
        ({"ledgercrm_role": ["sales", "dpo"]}, "must name exactly one"),
    ],
)
def test_wrong_claims_are_refused_with_the_reason(
    oidc_client: TestClient,
    provider: IdentityProvider,
    claims: dict[str, Any],
    reason: str,
) -> None:
    response = get(oidc_client, provider.token(**claims))

    assert response.status_code == 401
    assert reason in response.json()["error"]["message"]


def test_an_unsigned_token_is_refused(
    oidc_client: TestClient, provider: IdentityProvider
) -> None:
    header, body, _ = provider.token().split(".")
    unsigned = jwt.encode(
        jwt.decode(provider.token(), options={"verify_signature": False}),
        key=None,
        algorithm="none",
    )

    assert get(oidc_client, unsigned).status_code == 401
    assert get(oidc_client, f"{header}.{body}.").status_code == 401


def test_a_suspended_person_is_refused(
    oidc_client: TestClient, provider: IdentityProvider, oidc_services: Services
) -> None:
    token = provider.token()
    signed_in = oidc_client.app.state.security.sign_in(token)  # type: ignore[attr-defined]

    oidc_services.access.suspend(signed_in.principal_id, "test")

    assert get(oidc_client, token).status_code == 401


def test_actions_record_the_signed_in_person_as_actor(
    oidc_client: TestClient, provider: IdentityProvider, oidc_services: Services
) -> None:
    admin = provider.token(ledgercrm_role="admin")
    body = {
        "code": "newsletter",
        "title_vi": "Bản tin",
        "title_en": "Newsletter",
        "legal_basis": "consent",
        "data_categories": [{"name": "contact"}],
        "retention_days": 30,
    }

    written = oidc_client.post(
        "/v1/purposes", json=body, headers={"Authorization": f"Bearer {admin}"}
    )
    principal = oidc_client.app.state.security.sign_in(admin)  # type: ignore[attr-defined]

    assert written.status_code == 201
    purpose = oidc_services.crm.purpose("newsletter")
    assert principal.kind == "oidc" and principal.role == "admin"
    events = list(oidc_services.crm.events.get(purpose.id))
    assert events[0].actor == f"admin:{principal.principal_id}"


class _JwksHandler(BaseHTTPRequestHandler):
    jwks: bytes = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.jwks)

    def log_message(self, *args: Any) -> None:
        pass


def test_keys_can_come_from_a_jwks_url(
    settings: Settings, provider: IdentityProvider
) -> None:
    handler = type(
        "Handler", (_JwksHandler,), {"jwks": json.dumps(provider.jwks()).encode()}
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/jwks"
    opened = open_services(oidc_settings(settings, oidc_jwks_url=url))
    try:
        with TestClient(create_app(opened, run_background_work=False)) as client:
            good = get(client, provider.token())
            bad = get(client, IdentityProvider(kid="key-2").token())
    finally:
        opened.close()
        server.shutdown()

    assert good.status_code == 200
    assert bad.status_code == 401
    assert "no signing key" in bad.json()["error"]["message"]


def test_half_configured_oidc_is_refused_naming_the_setting(
    settings: Settings, tmp_path: Path
) -> None:
    no_audience = reconfigured(settings, oidc_issuer=ISSUER)
    plain_url = oidc_settings(settings, oidc_jwks_url="http://idp.example/jwks")

    shared_secret = oidc_settings(
        settings, oidc_jwks_url="https://idp.example/jwks", oidc_algorithms=["HS256"]
    )
    for wrong, named in (
        (no_audience, "LEDGERCRM_OIDC_AUDIENCE"),
        (plain_url, "https"),
        (shared_secret, "public-key algorithms"),
    ):
        opened = open_services(wrong)
        try:
            with pytest.raises(SettingsError, match=named):
                create_app(opened, run_background_work=False)
        finally:
            opened.close()
