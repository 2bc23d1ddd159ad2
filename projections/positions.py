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


def write_position(cursor: Cursor, dialect: Dialect, name: str, position: int) -> None:
    """Moves the position forward; refuses to move it back (an event applied twice)."""
    cursor.execute(
        f"INSERT INTO {table(dialect, 'projection_positions')} AS p (name, position) "
        "VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET position = excluded.position "
        "WHERE p.position < excluded.position",
        (name, position),
    )
