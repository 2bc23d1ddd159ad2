"""How far each read model has read the notification log: its projection_position."""

from __future__ import annotations

from projections.sql import Cursor, Dialect

SCHEMA: dict[Dialect, str] = {
    "sqlite": """
        CREATE TABLE IF NOT EXISTS projection_positions (
            name TEXT PRIMARY KEY,
            position INTEGER NOT NULL
        )""",
    "postgres": """
        CREATE SCHEMA IF NOT EXISTS projections;
        CREATE TABLE IF NOT EXISTS projections.projection_positions (
            name text PRIMARY KEY,
            position bigint NOT NULL
        )""",
}


def table(dialect: Dialect, name: str) -> str:
    """The table's qualified name: PostgreSQL keeps read models in their own schema."""
    return f"projections.{name}" if dialect == "postgres" else name


def read_position(cursor: Cursor, dialect: Dialect, name: str) -> int:
    cursor.execute(
        f"SELECT position FROM {table(dialect, 'projection_positions')} "
        "WHERE name = %s",
        (name,),
    )
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def lock_position(cursor: Cursor, dialect: Dialect, name: str) -> int:
    """The position, locked until the transaction ends, so that one writer at a
    time moves it (SQLite's BEGIN IMMEDIATE already holds the write lock)."""
    if dialect == "postgres":
        positions = table(dialect, "projection_positions")
        cursor.execute(
            f"INSERT INTO {positions} (name, position) "
            "VALUES (%s, 0) ON CONFLICT DO NOTHING",
            (name,),
        )
        cursor.execute(
            f"SELECT position FROM {positions} WHERE name = %s FOR UPDATE", (name,)
        )
        row = cursor.fetchone()
        return int(row[0]) if row else 0
    return read_position(cursor, dialect, name)


def set_position(cursor: Cursor, dialect: Dialect, name: str, position: int) -> None:
    """Sets the position whatever it was: only a rebuild's swap may move it back."""
    cursor.execute(
        f"INSERT INTO {table(dialect, 'projection_positions')} AS p (name, position) "
        "VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        (name, position),
    )


def delete_position(cursor: Cursor, dialect: Dialect, name: str) -> None:
    cursor.execute(
        f"DELETE FROM {table(dialect, 'projection_positions')} WHERE name = %s",
        (name,),
    )


def write_position(cursor: Cursor, dialect: Dialect, name: str, position: int) -> None:
    """Moves the position forward; refuses to move it back (an event applied twice)."""
    cursor.execute(
        f"INSERT INTO {table(dialect, 'projection_positions')} AS p (name, position) "
        "VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET position = excluded.position "
        "WHERE p.position < excluded.position",
        (name, position),
    )
