"""Bearer tokens: stored as SHA-256 digests, compared in constant time."""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from domain import ROLES
from projections.sql import Database, Dialect

TOKEN_PREFIX = "lcrm"  # noqa: S105 (a label, not a secret)

SCHEMA: dict[Dialect, str] = {
    "sqlite": """
        CREATE TABLE IF NOT EXISTS access_tokens (
            token_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL,
            secret_sha256 TEXT NOT NULL,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        )""",
    "postgres": """
        CREATE SCHEMA IF NOT EXISTS access;
        CREATE TABLE IF NOT EXISTS access.access_tokens (
            token_id text PRIMARY KEY,
            name text NOT NULL,
            role text NOT NULL,
            secret_sha256 text NOT NULL,
            created_at text NOT NULL,
            revoked_at text
        )""",
}

_DUMMY_DIGEST = hashlib.sha256(b"no such token").hexdigest()


class TokenError(Exception):
    """A token could not be created; the message says what to change."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a token's id (the user id on events) and role."""

    token_id: UUID
    name: str
    role: str


class AccessTokens:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.table = (
            "access.access_tokens"
            if database.dialect == "postgres"
            else "access_tokens"
        )
        database.create(SCHEMA)

    def create(self, role: str, name: str) -> tuple[Principal, str]:
        """Stores a new token's digest; returns the token, to be shown only once."""
        if role not in ROLES:
            raise TokenError(f"role {role!r} is unknown; use one of {', '.join(ROLES)}")
        if not name.strip() or len(name) > 100:
            raise TokenError("name must be 1 to 100 characters, e.g. the staff alias")
        token_id, secret = uuid.uuid4(), secrets.token_bytes(32)
        with self.database.transaction() as cursor:
            cursor.execute(
                f"INSERT INTO {self.table} (token_id, name, role, secret_sha256, "
                "created_at) VALUES (%s, %s, %s, %s, %s)",
                (token_id.hex, name, role, _digest(secret), _now()),
            )
        token = f"{TOKEN_PREFIX}_{token_id.hex}_{secret.hex()}"
        return Principal(token_id, name, role), token

    def authenticate(self, token: str) -> Principal | None:
        """The token's principal, or None; unknown and wrong tokens take equal work."""
        parsed = _parse(token)
        if parsed is None:
            return None
        token_id, secret = parsed
        with self.database.transaction() as cursor:
            cursor.execute(
                f"SELECT name, role, secret_sha256 FROM {self.table} "
                "WHERE token_id = %s AND revoked_at IS NULL",
                (token_id.hex,),
            )
            row = cursor.fetchone()
        stored = row[2] if row else _DUMMY_DIGEST
        matches = hmac.compare_digest(stored, _digest(secret))
        return Principal(token_id, row[0], row[1]) if row and matches else None

    def has_any(self) -> bool:
        with self.database.transaction() as cursor:
            cursor.execute(f"SELECT 1 FROM {self.table} LIMIT 1")
            return cursor.fetchone() is not None


def _parse(token: str) -> tuple[UUID, bytes] | None:
    parts = token.split("_")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    try:
        return UUID(hex=parts[1]), bytes.fromhex(parts[2])
    except ValueError:
        return None


def _digest(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat()
