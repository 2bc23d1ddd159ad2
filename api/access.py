"""Bearer tokens: stored as SHA-256 digests, compared in constant time.

A token has a lifetime and can be revoked; a principal (a token, or a person
signed in through OpenID Connect) can be suspended until an administrator
reinstates it. Each is refused at once: every request reads the token's row.
"""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from domain import ROLES
from projections.sql import Cursor, Database, Dialect

TOKEN_PREFIX = "lcrm"  # noqa: S105 (a label, not a secret)
DEFAULT_LIFETIME = timedelta(days=90)
# Writing last_used_at on every request would make each read a write.
LAST_USED_PRECISION = timedelta(hours=1)

SCHEMA: dict[Dialect, str] = {
    "sqlite": """
        CREATE TABLE IF NOT EXISTS access_tokens (
            token_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL,
            secret_sha256 TEXT NOT NULL,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE TABLE IF NOT EXISTS access_suspensions (
            principal_id TEXT PRIMARY KEY,
            suspended_at TEXT NOT NULL,
            reason TEXT NOT NULL
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
        );
        CREATE TABLE IF NOT EXISTS access.access_suspensions (
            principal_id text PRIMARY KEY,
            suspended_at text NOT NULL,
            reason text NOT NULL
        )""",
}
# Columns added after the first release; existing tables gain them on open.
ADDED_COLUMNS = ("expires_at", "last_used_at")

_DUMMY_DIGEST = hashlib.sha256(b"no such token").hexdigest()


class TokenError(Exception):
    """A token could not be created or changed; the message says what to change."""


class SignInRefused(Exception):
    """A credential was refused; `reason` is safe to show, `principal_id` to log."""

    def __init__(self, reason: str, principal_id: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.principal_id = principal_id


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a token's id (the user id on events) and role.

    A person signed in through OpenID Connect gets a stable id derived from the
    issuer and subject; `kind` tells the two apart.
    """

    token_id: UUID
    name: str
    role: str
    kind: str = "token"

    @property
    def principal_id(self) -> str:
        return self.token_id.hex


@dataclass(frozen=True)
class TokenRecord:
    """What `ledgercrm token list` shows: never the secret or its digest."""

    token_id: str
    name: str
    role: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    suspended: bool

    def active(self, now: datetime) -> bool:
        expired = self.expires_at is not None and self.expires_at <= now
        return not (self.revoked_at or expired or self.suspended)


class AccessTokens:
    def __init__(self, database: Database) -> None:
        self.database = database
        postgres = database.dialect == "postgres"
        self.table = "access.access_tokens" if postgres else "access_tokens"
        self.suspensions = (
            "access.access_suspensions" if postgres else "access_suspensions"
        )
        database.create(SCHEMA)
        self._add_columns()

    def create(
        self, role: str, name: str, lifetime: timedelta | None = DEFAULT_LIFETIME
    ) -> tuple[Principal, str]:
        """Stores a new token's digest; returns the token, to be shown only once.

        `lifetime` None makes a token that never expires, which the security
        check reports.
        """
        check_role(role)
        if not name.strip() or len(name) > 100:
            raise TokenError("name must be 1 to 100 characters, e.g. the staff alias")
        token_id, secret = uuid.uuid4(), secrets.token_bytes(32)
        now = _now()
        expires = None if lifetime is None else (now + lifetime).isoformat()
        with self.database.transaction() as cursor:
            cursor.execute(
                f"INSERT INTO {self.table} (token_id, name, role, secret_sha256, "
                "created_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s)",
                (token_id.hex, name, role, _digest(secret), now.isoformat(), expires),
            )
        token = f"{TOKEN_PREFIX}_{token_id.hex}_{secret.hex()}"
        return Principal(token_id, name, role), token

    def check(self, token: str) -> Principal:
        """The token's principal, or SignInRefused saying why.

        Unknown and wrong tokens take equal work and give the same reason; only
        the holder of the right secret learns that it expired or was revoked.
        """
        parsed = _parse(token)
        if parsed is None:
            raise SignInRefused("not a LedgerCRM token")
        token_id, secret = parsed
        with self.database.reading() as cursor:
            row = self._token_row(cursor, token_id.hex)
        stored = row[2] if row else _DUMMY_DIGEST
        if not (hmac.compare_digest(stored, _digest(secret)) and row):
            raise SignInRefused("unknown token or wrong secret", token_id.hex)
        name, role, _, revoked_at, expires_at, last_used_at, suspended = row
        now = _now()
        if revoked_at is not None:
            raise SignInRefused("token revoked", token_id.hex)
        if expires_at is not None and _time(expires_at) <= now:
            raise SignInRefused("token expired", token_id.hex)
        if suspended is not None:
            raise SignInRefused(
                "token suspended; an administrator must reinstate it",
                token_id.hex,
            )
        if last_used_at is None or _time(last_used_at) < now - LAST_USED_PRECISION:
            # A write only when the recorded last use is out of date.
            with self.database.transaction() as cursor:
                cursor.execute(
                    f"UPDATE {self.table} SET last_used_at = %s WHERE token_id = %s",
                    (now.isoformat(), token_id.hex),
                )
        return Principal(token_id, name, role)

    def authenticate(self, token: str) -> Principal | None:
        """The token's principal, or None; unknown and wrong tokens take equal work."""
        try:
            return self.check(token)
        except SignInRefused:
            return None

    def revoke(self, token_id: str) -> TokenRecord:
        """Revokes a token for good; refuses unknown or already revoked ones."""
        record = self.token(token_id)
        if record.revoked_at is not None:
            raise TokenError(f"token {record.token_id} is already revoked")
        with self.database.transaction() as cursor:
            cursor.execute(
                f"UPDATE {self.table} SET revoked_at = %s WHERE token_id = %s",
                (_now().isoformat(), record.token_id),
            )
        return record

    def change_role(self, token_id: str, role: str) -> TokenRecord:
        """Gives a token another role; returns the record as it was."""
        check_role(role)
        record = self.token(token_id)
        with self.database.transaction() as cursor:
            cursor.execute(
                f"UPDATE {self.table} SET role = %s WHERE token_id = %s",
                (role, record.token_id),
            )
        return record

    def suspend(self, principal_id: str, reason: str) -> bool:
        """Suspends a token or a signed-in person; False if already suspended."""
        with self.database.transaction() as cursor:
            if self._suspension(cursor, principal_id) is not None:
                return False
            cursor.execute(
                f"INSERT INTO {self.suspensions} (principal_id, suspended_at, reason) "
                "VALUES (%s, %s, %s)",
                (principal_id, _now().isoformat(), reason),
            )
        return True

    def reinstate(self, principal_id: str) -> str:
        """Lifts a suspension; refuses a principal that is not suspended.

        Returns the principal's id as stored (32 hex digits)."""
        principal_id = _principal_id(principal_id)
        with self.database.transaction() as cursor:
            if self._suspension(cursor, principal_id) is None:
                raise TokenError(f"{principal_id} is not suspended")
            cursor.execute(
                f"DELETE FROM {self.suspensions} WHERE principal_id = %s",
                (principal_id,),
            )
        return principal_id

    def suspended(self) -> list[tuple[str, datetime, str]]:
        """Every suspended principal (tokens and signed-in people): id, since, why."""
        with self.database.transaction() as cursor:
            cursor.execute(
                f"SELECT principal_id, suspended_at, reason FROM {self.suspensions} "
                "ORDER BY suspended_at"
            )
            rows = cursor.fetchall()
        return [(str(row[0]), _time(row[1]), str(row[2])) for row in rows]

    def is_suspended(self, principal_id: str) -> bool:
        with self.database.transaction() as cursor:
            return self._suspension(cursor, principal_id) is not None

    def token(self, token_id: str) -> TokenRecord:
        token_id = _principal_id(token_id)
        for record in self.tokens():
            if record.token_id == token_id:
                return record
        raise TokenError(f"no token {token_id}; `ledgercrm token list` shows them")

    def tokens(self) -> list[TokenRecord]:
        with self.database.transaction() as cursor:
            cursor.execute(
                f"SELECT t.token_id, t.name, t.role, t.created_at, t.expires_at, "
                f"t.last_used_at, t.revoked_at, s.principal_id FROM {self.table} t "
                f"LEFT JOIN {self.suspensions} s ON s.principal_id = t.token_id "
                "ORDER BY t.created_at"
            )
            rows = cursor.fetchall()
        return [
            TokenRecord(
                row[0],
                row[1],
                row[2],
                _time(row[3]),
                _optional_time(row[4]),
                _optional_time(row[5]),
                _optional_time(row[6]),
                row[7] is not None,
            )
            for row in rows
        ]

    def has_any(self) -> bool:
        with self.database.transaction() as cursor:
            cursor.execute(f"SELECT 1 FROM {self.table} LIMIT 1")
            return cursor.fetchone() is not None

    def _token_row(self, cursor: Cursor, token_id: str) -> tuple[Any, ...] | None:
        cursor.execute(
            f"SELECT t.name, t.role, t.secret_sha256, t.revoked_at, t.expires_at, "
            f"t.last_used_at, s.suspended_at FROM {self.table} t "
            f"LEFT JOIN {self.suspensions} s ON s.principal_id = t.token_id "
            "WHERE t.token_id = %s",
            (token_id,),
        )
        return cursor.fetchone()

    def _suspension(self, cursor: Cursor, principal_id: str) -> str | None:
        cursor.execute(
            f"SELECT suspended_at FROM {self.suspensions} WHERE principal_id = %s",
            (principal_id,),
        )
        row = cursor.fetchone()
        return None if row is None else str(row[0])

    def _add_columns(self) -> None:
        with self.database.transaction() as cursor:
            if self.database.dialect == "postgres":
                cursor.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = 'access' AND table_name = 'access_tokens'"
                )
                present = {row[0] for row in cursor.fetchall()}
                # Only the owner may alter the table; others find it complete.
                for column in set(ADDED_COLUMNS) - present:
                    cursor.execute(
                        f"ALTER TABLE {self.table} ADD COLUMN IF NOT EXISTS {column} "
                        "text"
                    )
                return
            cursor.execute(f"PRAGMA table_info({self.table})")
            present = {row[1] for row in cursor.fetchall()}
            for column in ADDED_COLUMNS:
                if column not in present:
                    cursor.execute(f"ALTER TABLE {self.table} ADD COLUMN {column} TEXT")


def check_role(role: str) -> None:
    if role not in ROLES:
        raise TokenError(f"role {role!r} is unknown; use one of {', '.join(ROLES)}")


def _principal_id(text: str) -> str:
    try:
        return UUID(text.strip()).hex
    except ValueError:
        raise TokenError(
            f"{text!r} is not a token id; `ledgercrm token list` shows them"
        ) from None


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


def _now() -> datetime:
    return datetime.now(UTC)


def _time(text: object) -> datetime:
    return datetime.fromisoformat(str(text))


def _optional_time(text: object) -> datetime | None:
    return None if text is None else _time(text)
