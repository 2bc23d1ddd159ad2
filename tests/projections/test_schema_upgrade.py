"""A read-model file made before a column was added keeps working after it."""

from pathlib import Path

from projections import CustomersById, PurposesWithNotices, SQLiteDatabase

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


BEFORE_FLAGS = """
    CREATE TABLE purposes (
        code TEXT PRIMARY KEY, purpose_id TEXT NOT NULL UNIQUE,
        title_vi TEXT NOT NULL, title_en TEXT NOT NULL, legal_basis TEXT NOT NULL,
        data_categories TEXT NOT NULL, sensitive INTEGER NOT NULL,
        retention_days INTEGER NOT NULL, retired INTEGER NOT NULL DEFAULT 0,
        defined_by TEXT NOT NULL, defined_at TEXT NOT NULL, position INTEGER NOT NULL
    );
    CREATE TABLE purpose_notices (
        code TEXT NOT NULL, version INTEGER NOT NULL, text_vi TEXT NOT NULL,
        text_en TEXT NOT NULL, text_sha256 TEXT NOT NULL, published_by TEXT NOT NULL,
        published_at TEXT NOT NULL, position INTEGER NOT NULL,
        PRIMARY KEY (code, version)
    );
    INSERT INTO purposes VALUES ('news', 'a1', 'Tin', 'News', 'consent',
        '[{"name": "e", "sensitivity": "basic"}]', 0, 30, 0, 'admin:u',
        '2026-01-05T00:00:00+00:00', 1);
    INSERT INTO purpose_notices VALUES ('news', 1, 'Tin', 'News', 'ab',
        'admin:u', '2026-01-05T00:00:00+00:00', 2)"""


def test_older_purpose_rows_read_as_disclosing_with_no_sensitive_statement(
    tmp_path: Path,
) -> None:
    database = SQLiteDatabase(tmp_path / "read_models.sqlite3")
    database.create({"sqlite": BEFORE_FLAGS, "postgres": ""})

    database.create(PurposesWithNotices.schema)
    database.create(PurposesWithNotices.schema)  # and creating again changes nothing

    [purpose] = PurposesWithNotices("sqlite").purposes(database)
    assert purpose.discloses is True
    assert purpose.notices[0].sensitive_statement_vi is None
    database.close()
