"""A customer's province: a closed list in Vietnam, ISO 3166-2 codes elsewhere."""

import unicodedata

import pytest

from domain import CRM, Actor, ConsentCapture, CustomerProfile, PersonalDetails
from domain.errors import InvalidValueError
from domain.validation import VN_PROVINCES, province


def test_vietnam_has_34_provincial_units_since_july_2025() -> None:
    assert len(set(VN_PROVINCES)) == 34


def test_a_decomposed_province_name_is_stored_composed() -> None:
    decomposed = unicodedata.normalize("NFD", "Khánh Hòa")

    assert province(decomposed, "VN") == "Khánh Hòa"


@pytest.mark.parametrize(
    ("value", "jurisdiction"),
    [("Hà Tây", "VN"), ("12 Lý Thường Kiệt", "VN"), ("London", "GB"), ("VN-HN", "GB")],
)
def test_a_province_outside_the_list_is_refused(value: str, jurisdiction: str) -> None:
    with pytest.raises(InvalidValueError) as refused:
        province(value, jurisdiction)

    assert refused.value.field == "province"
    assert value not in str(refused.value)


def test_a_subdivision_code_is_accepted_outside_vietnam() -> None:
    assert province("gb-lnd", "GB") == "GB-LND"


def test_province_is_recorded_and_changed(
    crm: CRM, sales: Actor, details: PersonalDetails, newsletter: ConsentCapture
) -> None:
    written = crm.register_customer(
        sales, details, CustomerProfile(province="Huế"), [newsletter]
    )

    crm.change_province(sales, written.id, "Đà Nẵng")

    assert crm.customer(written.id).province == "Đà Nẵng"
