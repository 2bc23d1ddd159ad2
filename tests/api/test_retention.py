"""Retention runs: customers past retention are erased by crypto-shredding,
each with a certificate; a dry run only lists them."""

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from api.app import background_work
from api.retention import run_periodically, run_retention
from api.settings import load_settings
from api.wiring import Services, open_services
from crypto_shredding import Tombstone
from domain import (
    CRM,
    Actor,
    ConsentCapture,
    CustomerProfile,
    PersonalDetails,
    notice_sha256,
)
from tests.api.conftest import Caller, registration
from tests.api.test_cli import ledgercrm

LATER = timedelta(days=400)  # past the fixture purposes' 365 days


def withdrawn_customer(callers: dict[str, Caller], marketing: dict[str, Any]) -> str:
    sales = callers["sales"]
    customer_id = str(
        sales.post("/v1/customers", json=registration(marketing)).json()["id"]
    )
    written = sales.post(
        f"/v1/customers/{customer_id}/consents/marketing-email/withdrawal",
        json={"channel": "email"},
    ).json()
    for runner in callers["sales"].client.app.state.services.runners:  # type: ignore[attr-defined]
        runner.wait_for(written["position"], 10)
    return customer_id


@pytest.mark.requirement("RETENTION")
def test_dry_run_lists_customers_past_retention_and_erases_nothing(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    gone = withdrawn_customer(callers, marketing)
    kept = str(
        callers["sales"]
        .post("/v1/customers", json=registration(marketing))
        .json()["id"]
    )

    listed = run_retention(services, datetime.now(UTC) + LATER, dry_run=True)

    assert [r["customer_id"] for r in listed] == [gone]
    assert kept not in str(listed)
    assert services.data_keys.store.find(UUID(gone)) is not None
    assert not isinstance(services.data_keys.store.find(UUID(gone)), Tombstone)


@pytest.mark.requirement("RETENTION")
@pytest.mark.requirement("DSR-ERASE")
def test_retention_run_shreds_each_customer_and_returns_certificates(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    gone = withdrawn_customer(callers, marketing)

    not_yet = run_retention(services, datetime.now(UTC), dry_run=False)
    erased = run_retention(services, datetime.now(UTC) + LATER, dry_run=False)

    assert not_yet == []
    [result] = erased
    assert result["customer_id"] == gone
    assert result["certificate"]["subject_id"] == gone
    assert result["certificate"]["ground"].startswith("RETENTION")
    assert isinstance(services.data_keys.store.find(UUID(gone)), Tombstone)
    assert run_retention(services, datetime.now(UTC) + LATER, dry_run=True) == []


@pytest.mark.requirement("RETENTION")
def test_retention_command_dry_run_plans_ahead(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    ledgercrm(data_dir, "init")
    services = open_services(load_settings(data_dir=data_dir))
    try:
        customer_id = withdrawn_in_store(services.crm)
    finally:
        services.close()

    now = ledgercrm(data_dir, "retention", "run", "--dry-run")
    later = ledgercrm(
        data_dir, "retention", "run", "--dry-run", "--as-of", "2099-01-01T00:00+07:00"
    )
    refused = ledgercrm(data_dir, "retention", "run", "--as-of", "2099-01-01")

    assert now.returncode == 0, now.stderr
    assert str(customer_id) not in now.stdout
    assert later.returncode == 0, later.stderr
    assert str(customer_id) in later.stdout
    assert "1 customers due for erasure" in later.stderr
    assert refused.returncode == 2 and "--dry-run" in refused.stderr


def withdrawn_in_store(crm: CRM) -> UUID:
    """A customer whose only consent is withdrawn, recorded straight to the CRM."""
    admin, sales = Actor("u-admin", "admin"), Actor("u-sales", "sales")
    crm.define_purpose(
        admin, "offers", "Ưu đãi", "Offers", "consent", [("email", "basic")], 30
    )
    version, _ = crm.publish_notice(admin, "offers", "Ưu đãi.", "Offers.")
    consent = ConsentCapture(
        "offers", version, notice_sha256("Ưu đãi.", "Offers."), "web-form", "f-1"
    )
    details = PersonalDetails(full_name="Đỗ Văn Bình")
    customer_id = crm.register_customer(sales, details, CustomerProfile(), [consent]).id
    crm.withdraw_consent(sales, customer_id, "offers", "email")
    return customer_id


@pytest.mark.requirement("RETENTION")
def test_serve_schedules_retention_unless_turned_off(services: Services) -> None:
    stop = threading.Event()
    stop.set()  # nothing is started: only the plan is inspected

    scheduled = background_work(services, stop)
    turned_off = background_work(
        replace(
            services,
            settings=services.settings.model_copy(
                update={"retention_interval_hours": 0.0}
            ),
        ),
        stop,
    )

    def targets(threads: list[threading.Thread]) -> set[object]:
        return {getattr(t, "_target", None) for t in threads}

    assert run_periodically in targets(scheduled)
    assert run_periodically not in targets(turned_off)
