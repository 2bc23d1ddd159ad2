"""A read-model file made before a column was added keeps working after it."""

from pathlib import Path

from projections import CustomersById, SQLiteDatabase

BEFORE_PROVINCE = """
    CREATE TABLE customers_by_id (
        customer_id TEXT PRIMARY KEY, stage TEXT NOT NULL, owner TEXT NOT NULL,
        tags TEXT NOT NULL, jurisdiction TEXT NOT NULL, consents TEXT NOT NULL,
        agreements TEXT NOT NULL, full_name TEXT, phone TEXT, email TEXT,
        postal_address TEXT, date_of_birth TEXT, erased INTEGER NOT NULL DEFAULT 0,
        registered_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        position INTEGER NOT NULL
    )"""


def columns(database: SQLiteDatabase) -> list[str]:
    with database.transaction() as cursor:
        cursor.execute("SELECT name FROM pragma_table_info('customers_by_id')")
        return [row[0] for row in cursor.fetchall()]


def test_an_older_sqlite_customers_table_gains_the_province_column(
    tmp_path: Path,
) -> None:
    database = SQLiteDatabase(tmp_path / "read_models.sqlite3")
    database.create({"sqlite": BEFORE_PROVINCE, "postgres": ""})

    database.create(CustomersById.schema)
    database.create(CustomersById.schema)  # and creating again changes nothing

    assert columns(database).count("province") == 1
    database.close()
