"""Test support for the ledger: a tiny aggregate, backends and backups."""

import os
import random
import re
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from ledger import LedgerIntegrator, LedgerSigner, LedgerStore, open_ledger_store

ORIGIN = "ledger.example.vn/crm"
ADMIN_CONNINFO = os.environ.get(
    "LEDGERCRM_TEST_POSTGRES", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)


class Ticket(Aggregate):
    """A tiny aggregate whose events carry an actor, as LedgerCRM events do."""

    @event("Opened")
    def __init__(self, title: str, actor: str) -> None:
        self.title = title

    @event("Noted")
    def note(self, text: str, actor: str) -> None:
        self.last_note = text


@dataclass
class LedgerSetup:
    """One backend: where the events and the ledger live, and the signer."""

    backend: str
    database_url: str
    data_dir: Path
    signer: LedgerSigner
    key_file: Path
    checkpoint_copy: Path
    _open: list[LedgerStore | Application | LedgerIntegrator] = field(
        default_factory=list
    )

    @property
    def events_file(self) -> Path:
        return self.data_dir / "events.sqlite3"

    @property
    def ledger_file(self) -> Path:
        return self.data_dir / "ledger.sqlite3"

    def application_env(self) -> dict[str, str]:
        if self.backend == "sqlite":
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.events_file),
            }
        url = urlsplit(self.database_url)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": url.path.lstrip("/"),
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": url.username or "postgres",
            "POSTGRES_PASSWORD": "",
        }

    def application(self) -> Application:
        app = Application(env=self.application_env())
        self._open.append(app)
        return app

    def store(self) -> LedgerStore:
        store = open_ledger_store(self.database_url)
        self._open.append(store)
        return store

    def integrator(self, app: Application, **options: Any) -> LedgerIntegrator:
        options.setdefault("ledger_checkpoint_copy", self.checkpoint_copy)
        integrator = LedgerIntegrator(
            app.recorder, self.store(), self.signer, **options
        )
        self._open.append(integrator)
        return integrator

    def close_all(self) -> None:
        while self._open:
            self._open.pop().close()


def record_tickets(app: Application, count: int, notes: int = 0) -> list[int]:
    """Save `count` tickets with `notes` notes each; the new notification ids."""
    before = app.recorder.max_notification_id() or 0
    for number in range(count):
        ticket = Ticket(f"ticket {number}", actor=f"sales:{uuid.uuid4()}")
        for note in range(notes):
            ticket.note(f"note {note}", actor="dpo:42")
        app.save(ticket)
    recorded = app.recorder.select_notifications(
        start=before, limit=1_000_000, inclusive_of_start=False
    )
    return [notification.id for notification in recorded]


@dataclass
class DatabaseBackup:
    """A copy of the whole database (events and ledger), to restore later."""

    setup: LedgerSetup
    copy: str

    def restore(self) -> None:
        """Put the copy back in place of the current database."""
        self.setup.close_all()
        if self.setup.backend == "sqlite":
            for name in ("events.sqlite3", "ledger.sqlite3"):
                sqlite_copy(Path(self.copy) / name, self.setup.data_dir / name)
            return
        target = urlsplit(self.setup.database_url).path.lstrip("/")
        with psycopg.connect(ADMIN_CONNINFO, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{target}" WITH (FORCE)')
        copy_database(self.copy, target)


def sqlite_copy(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as origin, sqlite3.connect(target) as destination:
        origin.backup(destination)


def copy_database(source: str, target: str) -> None:
    """CREATE DATABASE from a template, waiting for closed sessions to go."""
    with psycopg.connect(ADMIN_CONNINFO, autocommit=True) as admin:
        for attempt in range(50):
            try:
                admin.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
                return
            except psycopg.errors.ObjectInUse:
                if attempt == 49:
                    raise
                time.sleep(0.1)


def tamper(setup: LedgerSetup, statement: str, *params: object) -> None:
    """Change ledger rows as a superuser would, with the append-only triggers off.

    Write tables as `{ledger}entries` and parameters as `?`.
    """
    if setup.backend == "sqlite":
        with sqlite3.connect(setup.ledger_file) as connection:
            triggers = connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            ).fetchall()
            for (name,) in triggers:
                connection.execute(f"DROP TRIGGER {name}")
            connection.execute(statement.format(ledger=""), params)
        return
    with psycopg.connect(setup.database_url, autocommit=True) as connection:
        connection.execute("SET session_replication_role = replica")
        query = statement.format(ledger="ledger.").replace("?", "%s")
        connection.execute(query, params)  # type: ignore[arg-type]


# Small edits of entries, for checking that quick readings agree with parse_entry.

TRICKS = [
    b" ",
    b"\\",
    b'\\"',
    b"\\u0041",
    b"\xc3\xa4",
    b"\xff",
    b"\x00",
    b"\t",
    b"true",
    b"1.0",
    b"1e3",
    b"-0",
    b"01",
    b"9" * 30,
    b'"x"',
    b",",
    b":",
    b"{",
    b"}",
    b'"format":"ledgercrm-entry/1",',
    b'"extra":1,',
    b"\xef\xbb\xbf",
]


VALUES = [
    b"0",
    b"-0",
    b"01",
    b"-01",
    b"1.0",
    b"1e3",
    b"true",
    b"null",
    b"[]",
    b"{}",
    b"9" * 19,
    b"-" + b"9" * 18,
    b" 1",
    b'""',
    b'"a\\"b"',
    b'"\\u0041"',
    b'"\xc3\xa4"',
    b'"\x7f"',
    b'"\x1f"',
    b'"ledgercrm-entry/2"',
    b'"ledgercrm-entry/1"',
]
_VALUE = re.compile(rb'("[a-z_0-9]+":)("[^"]*"|-?[0-9]+)')


def replace_value(entry: bytes, chooser: random.Random) -> bytes:
    """One field's value swapped for another JSON (or almost JSON) value."""
    fields = list(_VALUE.finditer(entry))
    if not fields:
        return entry
    field = chooser.choice(fields)
    value = chooser.choice(VALUES)
    return entry[: field.start(2)] + value + entry[field.end(2) :]


def mutate_entry(entry: bytes, chooser: random.Random) -> bytes:
    """A random small edit: a flipped bit, a cut, a tricky fragment, a new value."""
    position = chooser.randrange(len(entry) + 1)
    kind = chooser.randrange(5)
    if kind == 4:
        return replace_value(entry, chooser)
    if kind == 0 and position < len(entry):
        changed = bytearray(entry)
        changed[position] ^= 1 << chooser.randrange(8)
        return bytes(changed)
    if kind == 1:
        return entry[:position] + entry[position + chooser.randrange(1, 6) :]
    if kind == 2:
        return entry[:position] + chooser.choice(TRICKS) + entry[position:]
    start = chooser.randrange(len(entry))
    return entry[:start] + chooser.choice(TRICKS) + entry[position:]
