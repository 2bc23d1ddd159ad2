"""Replaying and rebuilding every projection after erasures succeeds, and shows
the erased customer's fields as erased while the others still open."""

from datetime import UTC, datetime
from uuid import UUID

import pytest

from api.settings import Settings
from api.wiring import Services, open_services
from crypto_shredding import ERASED
from domain import Actor, ConsentCapture, CustomerProfile, PersonalDetails
from projections import Database

ADMIN, SALES, DPO = Actor("a", "admin"), Actor("s", "sales"), Actor("d", "dpo")


def register(services: Services, name: str, phone: str) -> UUID:
    crm = services.crm
    sha = crm.purpose("care").notice(1)["text_sha256"]  # type: ignore[index]
    return crm.register_customer(
        SALES,
        PersonalDetails(name, phone=phone, email=f"c{phone[-3:]}@example.vn"),
        CustomerProfile(),
        consents=[ConsentCapture("care", 1, sha, "web-form", "form-1")],
    ).id


def drop_every_read_model(database: Database) -> None:
    with database.transaction() as cursor:
        if database.dialect == "postgres":
            cursor.execute("DROP SCHEMA projections CASCADE")
            return
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP TABLE "{name}"')


@pytest.mark.requirement("DSR-ERASE")
def test_rebuilt_projections_show_erased_fields_as_erased(
    services: Services, settings: Settings
) -> None:
    crm = services.crm
    crm.define_purpose(
        ADMIN, "care", "Chăm sóc", "Care", "consent", [("c", "basic")], 9
    )
    crm.publish_notice(ADMIN, "care", "Thông báo", "Notice")
    erased = register(services, "Phạm Thị Xoá", "0912 111 222")
    kept = register(services, "Đỗ Văn Giữ", "0912 333 444")
    crm.erase_customer(DPO, erased, "DSR 3")
    drop_every_read_model(services.read_models)

    rebuilt = open_services(settings)
    try:
        applied = [runner.catch_up() for runner in rebuilt.runners]

        assert all(count > 0 for count in applied)
        row = rebuilt.customers.customer(rebuilt.read_models, erased)
        assert row is not None and row.erased
        assert set(row.sealed.values()) == {None}
        assert rebuilt.lookups.count_for(rebuilt.read_models, erased) == 0
        erasure = rebuilt.erasures.erasure(rebuilt.read_models, erased)
        assert erasure is not None and erasure.completed
        found = rebuilt.lookups.find(rebuilt.read_models, phone="0912 333 444")
        assert found == [kept]
        kept_row = rebuilt.customers.customer(rebuilt.read_models, kept)
        assert kept_row is not None and kept_row.sealed["full_name"] is not None
        opened = rebuilt.crm.mapper.open_sealed(kept_row.sealed["full_name"])  # type: ignore[attr-defined]
        assert opened == "Đỗ Văn Giữ"
        assert rebuilt.crm.customer(erased).full_name is ERASED
        replayed = rebuilt.crm.customer_as_of(erased, datetime.now(UTC))
        assert replayed.full_name is ERASED and replayed.phone is ERASED
    finally:
        rebuilt.close()
