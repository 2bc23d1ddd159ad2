"""Read model answering "which customers have this phone, e-mail or name?".

It keeps keyed hashes only (see crypto_shredding.keyed_hashes): the values are
opened from their sealed form while the event is applied and never stored. Erasure
deletes a customer's rows; a rebuild after erasure finds the fields erased and
writes none.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

import phonenumbers

from crypto_shredding import KeyedHashes, SealedValue
from crypto_shredding.keyed_hashes import fold
from domain import Customer
from projections.positions import table
from projections.sql import Cursor, Database, Dialect

PHONE, EMAIL, NAME_WORD = "phone", "email", "name-word"
PHONE_REGION = "VN"

SCHEMA: dict[Dialect, str] = {
    "sqlite": """
        CREATE TABLE IF NOT EXISTS customer_lookup_hashes (
            customer_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            digest TEXT NOT NULL,
            PRIMARY KEY (customer_id, kind, digest)
        );
        CREATE INDEX IF NOT EXISTS customer_lookup_hashes_digest
            ON customer_lookup_hashes (kind, digest)""",
    "postgres": """
        CREATE SCHEMA IF NOT EXISTS projections;
        CREATE TABLE IF NOT EXISTS projections.customer_lookup_hashes (
            customer_id text NOT NULL,
            kind text NOT NULL,
            digest text NOT NULL,
            PRIMARY KEY (customer_id, kind, digest)
        );
        CREATE INDEX IF NOT EXISTS customer_lookup_hashes_digest
            ON projections.customer_lookup_hashes (kind, digest)""",
}

Opener = Callable[[SealedValue], Any]


def normal_phone(phone: str) -> str:
    """E.164 when the number parses (0912 345 678 -> +84912345678), else digits."""
    try:
        number = phonenumbers.parse(phone, PHONE_REGION)
    except phonenumbers.NumberParseException:
        return "".join(c for c in phone if c.isdigit())
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normal_email(email: str) -> str:
    return fold(email.strip())


class CustomerLookupHashes:
    """Applies customer events to one table of keyed hashes; answers searches."""

    name = "customer_lookup_hashes"
    schema = SCHEMA

    def __init__(self, dialect: Dialect, hashes: KeyedHashes, opener: Opener) -> None:
        self.table = table(dialect, "customer_lookup_hashes")
        self.hashes = hashes
        self.opener = opener

    @singledispatchmethod
    def apply(self, event: Any, cursor: Cursor, position: int) -> None:
        """Events this read model does not answer for are skipped."""

    @apply.register
    def _(self, event: Customer.Registered, cursor: Cursor, position: int) -> None:
        customer_id = event.originator_id
        self._replace(cursor, customer_id, PHONE, self._phone(event.phone))
        self._replace(cursor, customer_id, EMAIL, self._email(event.email))
        self._replace(cursor, customer_id, NAME_WORD, self._name(event.full_name))

    @apply.register
    def _(
        self, event: Customer.ContactDetailsChanged, cursor: Cursor, position: int
    ) -> None:
        if event.phone is not None:
            self._replace(cursor, event.originator_id, PHONE, self._phone(event.phone))
        if event.email is not None:
            self._replace(cursor, event.originator_id, EMAIL, self._email(event.email))

    @apply.register
    def _(
        self, event: Customer.ErasureRequested, cursor: Cursor, position: int
    ) -> None:
        self._purge(cursor, event.originator_id)

    @apply.register
    def _(self, event: Customer.DataKeyShredded, cursor: Cursor, position: int) -> None:
        self._purge(cursor, event.originator_id)

    def find(
        self,
        database: Database,
        *,
        phone: str | None = None,
        email: str | None = None,
        name: str | None = None,
    ) -> list[UUID]:
        """Customers whose phone or e-mail equals the one given, or whose full
        name holds every word of `name`; erased customers have no rows."""
        if phone is not None:
            return self._having(
                database, PHONE, [self._digest(PHONE, normal_phone(phone))]
            )
        if email is not None:
            return self._having(
                database, EMAIL, [self._digest(EMAIL, normal_email(email))]
            )
        digests = self.hashes.word_digests(NAME_WORD, name or "")
        return self._having(database, NAME_WORD, digests) if digests else []

    def count_for(self, database: Database, customer_id: UUID) -> int:
        """How many rows hold hashes of this customer (none once erased)."""
        with database.reading() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM {self.table} WHERE customer_id = %s",
                (customer_id.hex,),
            )
            row = cursor.fetchone()
        return int(row[0]) if row else 0

    def _having(self, database: Database, kind: str, digests: list[str]) -> list[UUID]:
        marks = ", ".join(["%s"] * len(digests))
        with database.reading() as cursor:
            cursor.execute(
                f"SELECT customer_id FROM {self.table} WHERE kind = %s "
                f"AND digest IN ({marks}) GROUP BY customer_id "
                "HAVING count(DISTINCT digest) = %s ORDER BY customer_id LIMIT 100",
                (kind, *digests, len(digests)),
            )
            rows = cursor.fetchall()
        return [UUID(row[0]) for row in rows]

    def _digest(self, kind: str, normalised: str) -> str:
        return self.hashes.digest(kind, normalised)

    def _phone(self, sealed: Any) -> list[str]:
        value = self._opened(sealed)
        return [] if value is None else [self._digest(PHONE, normal_phone(value))]

    def _email(self, sealed: Any) -> list[str]:
        value = self._opened(sealed)
        return [] if value is None else [self._digest(EMAIL, normal_email(value))]

    def _name(self, sealed: Any) -> list[str]:
        value = self._opened(sealed)
        return [] if value is None else self.hashes.word_digests(NAME_WORD, value)

    def _opened(self, sealed: Any) -> str | None:
        """The plaintext, held only while hashing; None when absent or erased."""
        if not isinstance(sealed, SealedValue):
            return None
        value = self.opener(sealed)
        return value if isinstance(value, str) else None

    def _replace(
        self, cursor: Cursor, customer_id: UUID, kind: str, digests: list[str]
    ) -> None:
        cursor.execute(
            f"DELETE FROM {self.table} WHERE customer_id = %s AND kind = %s",
            (customer_id.hex, kind),
        )
        for digest in dict.fromkeys(digests):
            cursor.execute(
                f"INSERT INTO {self.table} (customer_id, kind, digest) "
                "VALUES (%s, %s, %s)",
                (customer_id.hex, kind, digest),
            )

    def _purge(self, cursor: Cursor, customer_id: UUID) -> None:
        cursor.execute(
            f"DELETE FROM {self.table} WHERE customer_id = %s", (customer_id.hex,)
        )
