"""On PostgreSQL the key store may connect as its own role, owning schema
crypto_shredding and nothing else: it cannot read the events, and runs all the same."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from api.settings import load_settings
from api.wiring import open_services
from crypto_shredding import WrappedDataKey, create_wrapping_key_file
from domain import Actor, ConsentCapture, CustomerProfile, PersonalDetails
from ledger import create_signing_key

ADMIN, SALES = Actor("a", "admin"), Actor("s", "sales")


@pytest.fixture
def keys_role(postgres_url: str) -> Iterator[str]:
    """A login role that owns schema crypto_shredding in the test database."""
    role = f"ledgercrm_keys_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
        admin.execute(f'CREATE SCHEMA crypto_shredding AUTHORIZATION "{role}"')
    try:
        yield role
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(
                f'DROP SCHEMA crypto_shredding CASCADE; DROP OWNED BY "{role}"'
            )
            admin.execute(f'DROP ROLE "{role}"')


@pytest.mark.requirement("ENCRYPT-AT-REST")
def test_key_store_runs_as_its_own_role_that_cannot_read_events(
    postgres_url: str, keys_role: str, tmp_path: Path
) -> None:
    keys_url = postgres_url.replace("postgres@", f"{keys_role}@", 1)
    settings = load_settings(
        data_dir=tmp_path / "var", database_url=postgres_url, key_store_url=keys_url
    )
    create_wrapping_key_file(settings.key_file)
    create_signing_key(settings.signing_key_file, settings.ledger_origin)

    services = open_services(settings)
    try:
        crm = services.crm
        crm.define_purpose(
            ADMIN, "care", "Chăm sóc", "Care", "consent", [("c", "basic")], 9
        )
        crm.publish_notice(ADMIN, "care", "Thông báo", "Notice")
        sha = crm.purpose("care").notice(1)["text_sha256"]  # type: ignore[index]
        customer_id = crm.register_customer(
            SALES,
            PersonalDetails("Hà Thị Khoá"),
            CustomerProfile(),
            consents=[ConsentCapture("care", 1, sha, "web-form", "f-1")],
        ).id
        stored = services.data_keys.store.find(customer_id)
        name = crm.customer(customer_id).full_name
    finally:
        services.close()

    assert isinstance(stored, WrappedDataKey)
    assert name == "Hà Thị Khoá"
    with psycopg.connect(keys_url) as keys:
        (owner,) = keys.execute(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'crypto_shredding' "
            "AND tablename = 'data_keys'"
        ).fetchone() or (None,)
        assert owner == keys_role
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            keys.execute("SELECT * FROM public.ledgercrm_events")
