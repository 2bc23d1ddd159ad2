"""The grants that let `serve` run as a role that cannot rewrite history.

The owner role (`ledgercrm init`) owns the event and ledger tables and their
append-only triggers; the service role only appends to and reads them, and
owns the mutable schemas (read models, access tokens, data keys), whose
tables it creates and changes itself.
"""

import re

from psycopg.sql import SQL, Composed, Identifier, Literal

MUTABLE_SCHEMAS = ("projections", "access", "crypto_shredding")
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def service_role_statements(
    service_role: str, database: str, events_table: str = "ledgercrm_events"
) -> list[Composed]:
    """SQL for the owner to run once after `ledgercrm init` (and after upgrades)."""
    if not ROLE_NAME.fullmatch(service_role):
        raise ValueError(
            f"{service_role!r} is not a plain role name; use lower-case letters, "
            "digits and underscores, like ledgercrm_service"
        )
    names = {
        "role": Identifier(service_role),
        "database": Identifier(database),
        "events": Identifier("public", events_table),
        "lock": Identifier("public", f"{events_table}_lock_for_insert"),
    }
    statements = [
        "GRANT CONNECT, CREATE ON DATABASE {database} TO {role}",
        "GRANT USAGE ON SCHEMA public, ledger TO {role}",
        "GRANT SELECT, INSERT ON {events}, ledger.entries, ledger.ledger_checkpoints "
        "TO {role}",
        "GRANT SELECT, INSERT, UPDATE ON ledger.tiles, ledger.integrator_position "
        "TO {role}",
        "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public, ledger TO {role}",
        "GRANT EXECUTE ON FUNCTION {lock}() TO {role}",
    ]
    composed = [SQL(statement).format(**names) for statement in statements]
    for schema in MUTABLE_SCHEMAS:
        composed.append(
            SQL("ALTER SCHEMA {schema} OWNER TO {role}").format(
                schema=Identifier(schema), **names
            )
        )
    composed.append(
        SQL(
            "DO $$ DECLARE t record; BEGIN "
            "FOR t IN SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname IN ('projections', 'access', 'crypto_shredding') LOOP "
            "EXECUTE format('ALTER TABLE %I.%I OWNER TO %I', "
            "t.schemaname, t.tablename, {role_name}); "
            "END LOOP; END $$"
        ).format(role_name=Literal(service_role))
    )
    return composed
