"""A customer's province: a closed list in Vietnam, ISO 3166-2 codes elsewhere."""

import dataclasses
import json
import unicodedata
from uuid import UUID

import pytest
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Mapper, UUIDAsHex

from domain import (
    CRM,
    Actor,
    ConsentCapture,
    Customer,
    CustomerProfile,
    PersonalDetails,
)
from domain.customer import PERSONAL_FIELDS
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


def test_a_customer_registered_before_provinces_existed_loads_without_one() -> None:
    transcoder = JSONTranscoder()
    transcoder.register(UUIDAsHex())
    transcoder.register(DatetimeAsISO())
    mapper: Mapper[UUID] = Mapper(transcoder=transcoder)
    customer = Customer._create(
        Customer.Registered,
        **dict.fromkeys(PERSONAL_FIELDS),
        stage="lead",
        owner="",
        tags=[],
        jurisdiction="VN",
        province="Huế",
        actor="sales:x",
    )
    stored = mapper.to_stored_event(customer.pending_events[0])
    state = json.loads(stored.state)
    del state["province"]
    older = dataclasses.replace(stored, state=json.dumps(state).encode())

    replayed = mapper.to_domain_event(older).mutate(None)

    assert replayed.province == ""
