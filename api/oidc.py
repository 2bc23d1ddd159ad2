"""Staff sign-in through the firm's identity provider: OpenID Connect access tokens.

Multi-factor sign-in is the provider's job. Here a JWT is accepted when its
signature verifies with a key from the provider's JWKS (a file, or a URL
fetched and cached), it names the configured issuer and audience, it has not
expired, and a configured claim names exactly one LedgerCRM role.
"""

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt

from api.access import Principal, SignInRefused
from api.settings import Settings, SettingsError
from domain import ROLES

ASYMMETRIC = ("RS", "PS", "ES", "EdDSA")
LEEWAY_SECONDS = 30  # clocks of the provider and this server may differ slightly
_REASONS: list[tuple[type[jwt.PyJWTError], str]] = [
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not yet valid"),
    (jwt.InvalidAudienceError, "token is for another audience"),
    (jwt.InvalidIssuerError, "token is from another issuer"),
    (jwt.InvalidSignatureError, "token signature does not verify"),
    (jwt.InvalidAlgorithmError, "token signature algorithm is not accepted"),
    (jwt.MissingRequiredClaimError, "token lacks a required claim"),
    (jwt.PyJWKClientError, "no signing key of the identity provider matches"),
    (jwt.PyJWKSetError, "the identity provider's key set is unusable"),
]


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


class OidcVerifier:
    """Checks access tokens from one issuer; build it with `from_settings`."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        role_claim: str,
        algorithms: list[str],
        *,
        jwks: dict[str, Any] | None = None,
        jwks_url: str = "",
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.role_claim = role_claim
        self.algorithms = algorithms
        self._key_set = None if jwks is None else jwt.PyJWKSet.from_dict(jwks)
        self._client = (
            jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=10)
            if jwks_url
            else None
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> "OidcVerifier | None":
        """The verifier the settings describe, or None when OIDC is not set up."""
        if not settings.oidc_issuer:
            return None
        if not settings.oidc_audience:
            raise SettingsError(
                "LEDGERCRM_OIDC_AUDIENCE is not set; name the audience (client id) "
                "the identity provider puts in access tokens for LedgerCRM"
            )
        jwks = _read_jwks(settings.oidc_jwks_file) if settings.oidc_jwks_file else None
        if jwks is None and not settings.oidc_jwks_url:
            raise SettingsError(
                "set LEDGERCRM_OIDC_JWKS_FILE or LEDGERCRM_OIDC_JWKS_URL to the "
                "identity provider's signing keys"
            )
        if settings.oidc_jwks_url:
            _check_jwks_url(settings.oidc_jwks_url)
        shared = [a for a in settings.oidc_algorithms if not a.startswith(ASYMMETRIC)]
        if shared or not settings.oidc_algorithms:
            raise SettingsError(
                f"LEDGERCRM_OIDC_ALGORITHMS may list only public-key algorithms "
                f"(RS*, PS*, ES*, EdDSA), not {shared}: a shared secret would let "
                "anyone holding it sign in"
            )
        return cls(
            settings.oidc_issuer,
            settings.oidc_audience,
            settings.oidc_role_claim,
            settings.oidc_algorithms,
            jwks=jwks,
            jwks_url=settings.oidc_jwks_url,
        )

    def check(self, token: str) -> Principal:
        """The signed-in person as a principal, or SignInRefused with the reason."""
        try:
            key = self._signing_key(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise SignInRefused(_reason(error)) from None
        subject = str(claims["sub"])
        principal_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.issuer}#{subject}")
        role = self._role(claims.get(self.role_claim), principal_id.hex)
        return Principal(principal_id, subject, role, kind="oidc")

    def _signing_key(self, token: str) -> Any:
        header = jwt.get_unverified_header(token)
        kid = header.get("kid")
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token).key
        assert self._key_set is not None
        keys = [k for k in self._key_set.keys if kid is None or k.key_id == kid]
        if len(keys) != 1:
            raise jwt.PyJWKClientError("no single key matches the token's kid")
        return keys[0].key

    def _role(self, claim: object, principal_id: str) -> str:
        values = [claim] if isinstance(claim, str) else claim
        if not isinstance(values, list):
            values = []
        roles = sorted({value for value in values if value in ROLES})
        if len(roles) != 1:
            raise SignInRefused(
                f"claim {self.role_claim!r} must name exactly one of "
                f"{', '.join(ROLES)}; ask the identity provider's administrator",
                principal_id,
            )
        return str(roles[0])


def _reason(error: jwt.PyJWTError) -> str:
    for error_type, reason in _REASONS:
        if isinstance(error, error_type):
            return reason
    return "not a valid access token"


def _read_jwks(path: Path) -> dict[str, Any]:
    try:
        keys: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise SettingsError(
            f"LEDGERCRM_OIDC_JWKS_FILE {path} is not a readable JWKS file ({error}); "
            "download the provider's jwks_uri document into it"
        ) from None
    return keys


def _check_jwks_url(url: str) -> None:
    parts = urlsplit(url)
    loopback = parts.hostname in ("127.0.0.1", "::1", "localhost")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise SettingsError(
            "LEDGERCRM_OIDC_JWKS_URL must be an https:// URL (plain http only on "
            "loopback): keys fetched in the clear could be replaced"
        )
