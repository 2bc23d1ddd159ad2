"""Residency (LOCALISATION, CROSS-BORDER) and the DPIA technical annex."""

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.cli import declare_store_regions
from api.privacy import privacy_office
from api.settings import Settings
from api.wiring import Services, open_services
from domain import Actor, CustomerProfile, PersonalDetails
from domain.residency import CrossBorderTransferError
from tests.api.conftest import Caller, registration
from tests.api.test_cli import ledgercrm

DPO = Actor("u-dpo", "dpo")


@pytest.fixture
def abroad(settings: Settings) -> Iterator[Services]:
    """The same deployment with its event store declared in Singapore."""
    opened = open_services(settings.model_copy(update={"event_store_region": "SG"}))
    try:
        yield opened
    finally:
        opened.close()


@pytest.mark.requirement("LOCALISATION")
def test_store_regions_are_recorded_at_start_up_only_when_changed(
    services: Services, abroad: Services
) -> None:
    declare_store_regions(services)
    declare_store_regions(services)
    declare_store_regions(abroad)

    stores = privacy_office(services).store_regions()
    assert stores is not None
    declared = [
        type(e).__name__
        for e in services.crm.events.get(stores.id)
        if type(e).__name__ == "Declared"
    ]
    assert declared == ["Declared", "Declared"]
    assert stores.regions["event_store"] == "SG"


@pytest.mark.requirement("CROSS-BORDER")
def test_vn_subject_is_refused_by_a_store_abroad_without_a_transfer_record(
    abroad: Services, marketing_capture: Any
) -> None:
    before = abroad.crm.recorder.max_notification_id()

    with pytest.raises(CrossBorderTransferError, match="transfer record"):
        abroad.crm.register_customer(
            Actor("u-1", "sales"),
            PersonalDetails("Nguyễn Văn An"),
            CustomerProfile(jurisdiction="VN"),
            [marketing_capture],
        )

    assert abroad.crm.recorder.max_notification_id() == before


@pytest.mark.requirement("CROSS-BORDER")
def test_a_store_abroad_takes_subjects_elsewhere_and_vn_after_a_transfer_record(
    abroad: Services, marketing_capture: Any
) -> None:
    sales = Actor("u-1", "sales")
    abroad.crm.register_customer(
        sales,
        PersonalDetails("Tan Wei Ling"),
        CustomerProfile(jurisdiction="SG"),
        [marketing_capture],
    )

    privacy_office(abroad).record_transfer(
        DPO, "event_store", "SG", "A05/TIA/2026/0012", date(2026, 11, 30)
    )
    written = abroad.crm.register_customer(
        sales,
        PersonalDetails("Nguyễn Văn An"),
        CustomerProfile(jurisdiction="VN"),
        [marketing_capture],
    )

    assert abroad.crm.customer(written.id).full_name == "Nguyễn Văn An"


@pytest.mark.requirement("CROSS-BORDER")
def test_refusal_over_the_api_says_what_to_do(
    abroad: Services, marketing: dict[str, Any]
) -> None:
    with TestClient(create_app(abroad, run_background_work=False)) as client:
        sales = Caller(client, abroad.access.create("sales", "s-abroad")[1])

        response = sales.post("/v1/customers", json=registration(marketing))

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "cross_border_transfer_missing"
    assert "POST /v1/dpo/transfers" in error["message"]


@pytest.mark.requirement("DPIA")
def test_dpia_annex_is_built_from_live_configuration(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    dpo = callers["dpo"]
    declare_store_regions(services)

    annex = dpo.get("/v1/dpo/dpia").json()

    [purpose] = annex["purposes"]
    assert purpose["code"] == "marketing-email"
    assert purpose["legal_basis"] == "consent"
    assert purpose["data_categories"] == [{"name": "contact", "sensitivity": "basic"}]
    assert purpose["retention_days"] == 365
    assert purpose["sensitive"] is False
    assert purpose["discloses"] is True
    assert {r["role"] for r in annex["roles"]} == {
        "admin",
        "sales",
        "manager",
        "auditor",
        "dpo",
    }
    assert annex["stores"]["regions"]["event_store"] == "VN"
    assert annex["stores"]["recorded_regions"]["key_store"] == "VN"
    assert "AES-256-GCM" in annex["encryption"]["personal_fields"]
    assert "postgresql://" not in json.dumps(annex)


@pytest.mark.requirement("DPIA")
def test_dpia_annex_renders_as_markdown_and_html(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    dpo = callers["dpo"]

    markdown = dpo.get("/v1/dpo/dpia", params={"format": "markdown"})
    page = dpo.get("/v1/dpo/dpia", params={"format": "html"})

    assert markdown.text.startswith("# DPIA technical annex")
    assert "## Purposes" in markdown.text
    assert "| marketing-email |" in markdown.text
    assert page.headers["content-type"].startswith("text/html")
    assert "marketing-email" in page.text


@pytest.mark.requirement("DPIA")
def test_dpia_command_lists_processors_from_settings(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    processors = '[{"name": "Viettel IDC", "service": "hosting", "region": "VN"}]'
    ledgercrm(data_dir, "init")

    result = ledgercrm(
        data_dir, "dpia", "--format", "json", LEDGERCRM_PROCESSORS=processors
    )

    assert result.returncode == 0, result.stderr
    annex = json.loads(result.stdout)
    assert annex["processors"] == [
        {"name": "Viettel IDC", "service": "hosting", "region": "VN"}
    ]
    assert annex["stores"]["recorded_regions"]["event_store"] == "VN"
