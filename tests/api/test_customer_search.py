"""Exact-match search by phone, e-mail or name words, over keyed lookup hashes."""

import uuid
from typing import Any

import pytest

from api.wiring import Services
from crypto_shredding.keyed_hashes import fold, words
from tests.api.conftest import Caller, registration


def register(sales: Caller, purpose: dict[str, Any], **personal: Any) -> str:
    written = sales.post("/v1/customers", json=registration(purpose, **personal))
    assert written.status_code == 201, written.text
    return str(written.json()["id"])


def search(caller: Caller, **query: Any) -> Any:
    return caller.post("/v1/customers/search", json=query)


def found_ids(caller: Caller, position: int = 0, **query: Any) -> list[str]:
    answer = search(caller, after_position=position, **query)
    assert answer.status_code == 200, answer.text
    return [customer["id"] for customer in answer.json()["customers"]]


def last_position(services: Services) -> int:
    return services.crm.recorder.max_notification_id() or 0


def test_folding_ignores_case_and_vietnamese_diacritics() -> None:
    assert fold("Nguyễn Thị Đào") == "nguyen thi dao"
    assert words("  TRẦN   văn  An, Trần ") == ["tran", "van", "an"]


@pytest.mark.requirement("ENCRYPT-AT-REST")
def test_phone_search_finds_the_customer_whatever_the_number_format(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    sales = callers["sales"]
    wanted = register(sales, marketing, phone="0912 345 678")
    register(sales, marketing, phone="0987 654 321")

    found = found_ids(sales, last_position(services), phone="+84 912-345-678")

    assert found == [wanted]


def test_email_search_ignores_case(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    sales = callers["sales"]
    wanted = register(sales, marketing, email="Lan.Pham@Example.vn")

    found = found_ids(sales, last_position(services), email="lan.pham@example.vn")

    assert found == [wanted]


def test_changed_email_is_found_and_the_old_one_is_not(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    sales = callers["sales"]
    customer = register(sales, marketing, email="old@example.vn")
    sales.patch(
        f"/v1/customers/{customer}/contact-details", json={"email": "new@example.vn"}
    )
    position = last_position(services)

    assert found_ids(sales, position, email="new@example.vn") == [customer]
    assert found_ids(sales, position, email="old@example.vn") == []


def test_name_search_matches_every_word_without_case_or_diacritics(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    sales = callers["sales"]
    wanted = register(sales, marketing, full_name="Nguyễn Thị Hồng")
    other = register(sales, marketing, full_name="Nguyễn Văn Hùng")

    position = last_position(services)

    assert found_ids(sales, position, name="nguyen thi") == [wanted]
    assert sorted(found_ids(sales, position, name="NGUYỄN")) == sorted([wanted, other])
    assert found_ids(sales, position, name="nguyen lan") == []


@pytest.mark.requirement("DSR-ERASE")
def test_erased_customer_is_not_found_and_keeps_no_lookup_rows(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    sales, dpo = callers["sales"], callers["dpo"]
    customer = register(
        sales, marketing, full_name="Lê Thị Erase", phone="0912 000 111"
    )
    services.lookup_runner.wait_for(last_position(services), 5)
    assert services.lookups.count_for(services.read_models, uuid.UUID(customer)) > 0

    erased = dpo.post(f"/v1/customers/{customer}/erasure", json={"ground": "DSR 12"})

    assert erased.status_code == 200, erased.text
    position = last_position(services)
    assert found_ids(sales, position, phone="0912 000 111") == []
    assert found_ids(sales, position, name="le thi erase") == []
    assert services.lookups.count_for(services.read_models, uuid.UUID(customer)) == 0


@pytest.mark.parametrize("role", ["manager", "auditor", "admin"])
def test_roles_without_personal_access_cannot_search(
    callers: dict[str, Caller], role: str
) -> None:
    answer = search(callers[role], phone="0912 345 678")

    assert answer.status_code == 403


@pytest.mark.parametrize(
    "query",
    [{}, {"phone": "0912 345 678", "email": "a@example.vn"}, {"name": "   "}],
)
def test_search_needs_exactly_one_value(
    callers: dict[str, Caller], query: dict[str, Any]
) -> None:
    answer = search(callers["sales"], **query)

    assert answer.status_code == 422
    assert "exactly one" in answer.json()["error"]["message"]


def test_search_values_appear_in_no_log_line(
    callers: dict[str, Caller],
    marketing: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")

    search(callers["sales"], email="Qzsearchmarker@example.vn")
    search(callers["sales"], name="Qzsearchmarker")
    search(callers["manager"], phone="0912 345 678 Qzsearchmarker")

    assert "Qzsearchmarker" not in caplog.text
