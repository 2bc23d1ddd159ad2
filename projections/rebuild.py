"""Rebuilds a read model from zero beside the live one, then swaps it in.

The old rows keep answering queries while the new ones are built: the rebuild
writes into shadow tables (each table and index name with `__rebuild` appended),
with its own projection_position, and only when it has caught up does one
transaction apply the last events, drop the old tables, rename the shadow ones
and set the live position. A live runner, in this process or another, waits on
the position's lock during that transaction and carries on from the rebuilt
position afterwards.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from projections.positions import (
    delete_position,
    lock_position,
    read_position,
    set_position,
    table,
)
from projections.runner import (
    ProjectionRunner,
    ReadModel,
    apply_batch,
    handles_topic,
)
from projections.sql import Cursor, Database, Dialect, LockTaken

logger = logging.getLogger(__name__)

SHADOW = "__rebuild"
_TABLE = re.compile(
    r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:projections\.)?(\w+)", re.I
)
_INDEX = re.compile(
    r"CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.I
)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SchemaNames:
    """The tables and indexes a read model's DDL creates, in creation order."""

    tables: tuple[str, ...]
    indexes: tuple[str, ...]
    index_statements: tuple[str, ...]

    @classmethod
    def of(cls, schema: str) -> SchemaNames:
        statements = [s for s in schema.split(";") if s.strip()]
        return cls(
            tables=tuple(m.group(1) for s in statements if (m := _TABLE.search(s))),
            indexes=tuple(m.group(1) for s in statements if (m := _INDEX.search(s))),
            index_statements=tuple(s for s in statements if _INDEX.search(s)),
        )

    @property
    def names(self) -> tuple[str, ...]:
        return self.tables + self.indexes


class ShadowCursor:
    """Passes statements through with the read model's names turned into the
    shadow names, so that the unchanged read model writes the shadow tables."""

    def __init__(self, cursor: Cursor, rename: Callable[[str], str]) -> None:
        self._cursor = cursor
        self._rename = rename

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(self._rename(statement), params)

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        self._cursor.executemany(self._rename(statement), rows)

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._cursor.fetchone()

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._cursor.fetchall()


class ShadowReadModel:
    """The read model under another name, writing its rows into shadow tables.

    Limitation: a read model whose `apply` reads another read model's tables
    reads the live ones, which may be ahead of the rebuild; the read models here
    read only their own tables.
    """

    def __init__(self, read_model: ReadModel, dialect: Dialect) -> None:
        self.live = read_model
        self.dialect = dialect
        self.name = read_model.name + SHADOW
        self.names = SchemaNames.of(read_model.schema[dialect])
        if not self.names.tables:
            raise ValueError(f"read model {read_model.name} declares no tables")
        pattern = "|".join(sorted(map(re.escape, self.names.names), key=len)[::-1])
        self._pattern = re.compile(rf"\b({pattern})\b")
        self._renamed: dict[str, str] = {}
        self.schema = {dialect: self.rename(read_model.schema[dialect])}

    def rename(self, statement: str) -> str:
        renamed = self._renamed.get(statement)
        if renamed is None:
            renamed = self._pattern.sub(lambda m: m.group(1) + SHADOW, statement)
            self._renamed[statement] = renamed
        return renamed

    def apply(self, event: Any, cursor: Any, position: int) -> None:
        self.live.apply(event, ShadowCursor(cursor, self.rename), position)

    def handles(self, topic: str) -> bool:
        return handles_topic(self.live, topic)

    def start_batch(self) -> None:
        start = getattr(self.live, "start_batch", None)
        if start is not None:
            start()

    def finish_batch(self, cursor: Any) -> None:
        finish = getattr(self.live, "finish_batch", None)
        if finish is not None:
            finish(ShadowCursor(cursor, self.rename))


class RebuildError(Exception):
    """A rebuild cannot start or finish; the message says why and what to do."""


def rebuild(
    runner: ProjectionRunner,
    *,
    progress: Progress | None = None,
    batch_size: int = 2_000,
) -> int:
    """Rebuilds `runner`'s read model from the first event; returns the position
    the rebuilt read model has reached when it was swapped in."""
    database = runner.database
    shadow = ShadowReadModel(runner.read_model, database.dialect)
    try:
        with database.exclusive(shadow.name):
            return _rebuild(runner, shadow, progress, batch_size)
    except LockTaken:
        raise RebuildError(
            f"another rebuild of {runner.read_model.name} is running; wait for it "
            "to finish (ledgercrm projections status shows its progress)"
        ) from None


def _rebuild(
    runner: ProjectionRunner,
    shadow: ShadowReadModel,
    progress: Progress | None,
    batch_size: int,
) -> int:
    database = runner.database
    _drop_shadow(database, shadow)
    builder = ProjectionRunner(
        shadow,
        database,
        runner.recorder,
        runner.mapper,
        batch_size=batch_size,
    )
    head = builder.head()
    logger.info("rebuilding projection %s up to %d", runner.read_model.name, head)
    if progress:
        progress(0, head)
    while True:
        applied = builder.run_once()
        reached = builder.position()
        if progress:
            head = max(head, reached)
            progress(reached, head)
        if applied == 0 or reached >= builder.head():
            break
    builder.commit_position()
    reached = _swap(runner, builder, shadow)
    if progress:
        progress(reached, max(head, reached))
    logger.info("projection %s rebuilt at %d", runner.read_model.name, reached)
    return reached


def _swap(
    runner: ProjectionRunner, builder: ProjectionRunner, shadow: ShadowReadModel
) -> int:
    """In one transaction: the last events, the shadow tables renamed over the
    live ones, and the live position set where the rebuild stands."""
    database, dialect = runner.database, runner.database.dialect
    live_name = runner.read_model.name
    with database.transaction() as cursor:
        lock_position(cursor, dialect, live_name)
        reached = read_position(cursor, dialect, shadow.name)
        while notifications := runner.recorder.select_notifications(
            start=reached + 1, limit=builder.batch_size
        ):
            events = [
                (runner.mapper.to_sealed_domain_event(n), n.id)
                for n in notifications
                if shadow.handles(n.topic)
            ]
            apply_batch(shadow, events, cursor)
            reached = notifications[-1].id
        for name in shadow.names.tables:
            cursor.execute(f"DROP TABLE IF EXISTS {table(dialect, name)}")
            cursor.execute(
                f"ALTER TABLE {table(dialect, name + SHADOW)} RENAME TO {name}"
            )
        if dialect == "postgres":  # indexes, primary keys and unique constraints
            for name in shadow.names.tables:
                cursor.execute(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = "
                    "'projections' AND tablename = %s",
                    (name,),
                )
                for (index,) in cursor.fetchall():
                    if SHADOW in index:
                        cursor.execute(
                            f"ALTER INDEX {table(dialect, index)} "
                            f"RENAME TO {index.replace(SHADOW, '')}"
                        )
        else:  # SQLite cannot rename an index: make it anew under its own name
            for name in shadow.names.indexes:
                cursor.execute(f"DROP INDEX IF EXISTS {name + SHADOW}")
            for statement in shadow.names.index_statements:
                cursor.execute(statement)
        set_position(cursor, dialect, live_name, reached)
        delete_position(cursor, dialect, shadow.name)
    return reached


def rebuilds_in_progress(database: Database) -> dict[str, int]:
    """Read models being rebuilt (or whose rebuild was interrupted), with the
    position their shadow tables have reached."""
    positions = table(database.dialect, "projection_positions")
    with database.transaction() as cursor:
        cursor.execute(f"SELECT name, position FROM {positions}")
        rows = cursor.fetchall()
    return {
        name.removesuffix(SHADOW): int(position)
        for name, position in rows
        if name.endswith(SHADOW)
    }


def _drop_shadow(database: Database, shadow: ShadowReadModel) -> None:
    """Starts from zero: removes what an interrupted rebuild may have left."""
    dialect = database.dialect
    with database.transaction() as cursor:
        for name in shadow.names.tables:
            cursor.execute(f"DROP TABLE IF EXISTS {table(dialect, name + SHADOW)}")
        delete_position(cursor, dialect, shadow.name)
