"""Erasure: the customer still loads, personal data reads ERASED, nothing new is
taken, and the read model keeps no sealed copy."""

from uuid import UUID

import pytest

from api.wiring import Services
from crypto_shredding import ERASED, SubjectErasedError, Tombstone
from domain import CRM, Actor, ConsentCapture
from domain.customer import PERSONAL_FIELDS
from domain.errors import CustomerErasedError, CustomerNotFoundError

DPO = Actor("u-dpo", "dpo")
GROUND = "DSR-ERASE request 11"


@pytest.mark.requirement("DSR-ERASE")
def test_erased_customer_loads_with_personal_fields_erased(
    crm: CRM, customer_id: UUID
) -> None:
    crm.erase_customer(DPO, customer_id, GROUND)

    customer = crm.customer(customer_id)

    assert customer.erased
    assert all(getattr(customer, f) in (ERASED, None) for f in PERSONAL_FIELDS)
    assert customer.full_name is ERASED
    assert customer.email is ERASED
    assert customer.stage == "lead"


@pytest.mark.requirement("DSR-ERASE")
def test_erased_customers_contact_changes_read_as_erased(
    crm: CRM, sales: Actor, customer_id: UUID
) -> None:
    crm.change_contact_details(sales, customer_id, phone="0987 654 321")

    crm.erase_customer(DPO, customer_id, GROUND)

    assert crm.customer(customer_id).phone is ERASED


@pytest.mark.requirement("DSR-ERASE")
def test_erased_customers_interactions_read_as_erased(
    crm: CRM, sales: Actor, customer_id: UUID
) -> None:
    logged = crm.log_interaction(sales, customer_id, "meeting", "Bàn về hợp đồng")

    crm.erase_customer(DPO, customer_id, GROUND)

    interaction = crm.interaction(logged.id)
    assert interaction.text is ERASED
    assert interaction.kind == "meeting"
    assert interaction.customer_id == customer_id


@pytest.mark.requirement("DSR-ERASE")
def test_erasure_leaves_a_tombstone_for_the_data_key(
    crm: CRM, services: Services, customer_id: UUID
) -> None:
    crm.erase_customer(DPO, customer_id, GROUND)

    tombstone = services.data_keys.store.find(customer_id)

    assert isinstance(tombstone, Tombstone)
    assert tombstone.reason == GROUND
    assert services.data_keys.for_reading(customer_id) is None


@pytest.mark.requirement("DSR-ERASE")
def test_erased_customer_takes_no_new_contact_details(
    crm: CRM, sales: Actor, customer_id: UUID
) -> None:
    crm.erase_customer(DPO, customer_id, GROUND)
    before = crm.recorder.max_notification_id()

    with pytest.raises(CustomerErasedError, match="register the customer anew"):
        crm.change_contact_details(sales, customer_id, email="moi@example.vn")

    assert crm.recorder.max_notification_id() == before


@pytest.mark.requirement("DSR-ERASE")
def test_erased_customer_takes_no_new_interactions(
    crm: CRM, sales: Actor, customer_id: UUID
) -> None:
    crm.erase_customer(DPO, customer_id, GROUND)
    before = crm.recorder.max_notification_id()

    with pytest.raises(CustomerErasedError):
        crm.log_interaction(sales, customer_id, "call", "Gọi lại")

    assert crm.recorder.max_notification_id() == before


@pytest.mark.requirement("DSR-ERASE")
def test_erased_customer_takes_no_new_consent(
    crm: CRM, sales: Actor, customer_id: UUID, newsletter: ConsentCapture
) -> None:
    crm.erase_customer(DPO, customer_id, GROUND)

    with pytest.raises(CustomerNotFoundError):
        crm.give_consent(sales, customer_id, newsletter)


@pytest.mark.requirement("PURPOSE-LIMITATION")
def test_erased_customer_has_no_basis_for_any_purpose(
    crm: CRM, customer_id: UUID
) -> None:
    customer = crm.customer(customer_id)
    purpose = next(iter(customer.purposes_with_basis()))
    crm.erase_customer(DPO, customer_id, GROUND)

    with pytest.raises(CustomerErasedError):
        crm.check_basis_for(crm.customer(customer_id), purpose)


@pytest.mark.requirement("DSR-ERASE")
def test_erasure_is_repeatable_without_new_events(crm: CRM, customer_id: UUID) -> None:
    first = crm.erase_customer(DPO, customer_id, GROUND)
    version = crm.customer(customer_id).version

    again = crm.erase_customer(DPO, customer_id, GROUND)

    assert again == first
    assert crm.customer(customer_id).version == version
    assert crm.recorder.max_notification_id() == first.position


@pytest.mark.requirement("DSR-ERASE")
def test_erasure_finishes_when_the_key_was_shredded_but_not_recorded(
    crm: CRM, services: Services, customer_id: UUID
) -> None:
    services.data_keys.shred(customer_id, GROUND)

    crm.erase_customer(DPO, customer_id, GROUND)

    customer = crm.customer(customer_id)
    assert customer.erased
    assert customer.full_name is ERASED


def test_shredded_subject_refuses_personal_data_even_before_erasure_is_recorded(
    crm: CRM, services: Services, sales: Actor, customer_id: UUID
) -> None:
    services.data_keys.shred(customer_id, GROUND)

    with pytest.raises(SubjectErasedError):
        crm.change_contact_details(sales, customer_id, email="moi@example.vn")


@pytest.mark.requirement("DSR-ERASE")
def test_read_model_holds_no_sealed_values_after_erasure(
    crm: CRM, services: Services, sales: Actor, customer_id: UUID
) -> None:
    crm.log_interaction(sales, customer_id, "note", "Thích sản phẩm A")
    services.runner.catch_up()
    row = services.customers.customer(services.read_models, customer_id)
    assert row is not None and row.sealed["full_name"] is not None

    crm.erase_customer(DPO, customer_id, GROUND)
    services.runner.catch_up()

    row = services.customers.customer(services.read_models, customer_id)
    assert row is not None and row.erased
    assert set(row.sealed.values()) == {None}
    interactions = services.customers.interactions_of(services.read_models, customer_id)
    assert [i.text for i in interactions] == [None]


@pytest.mark.requirement("DSR-ERASE")
def test_read_model_built_after_erasure_holds_no_sealed_values(
    crm: CRM, services: Services, customer_id: UUID
) -> None:
    crm.erase_customer(DPO, customer_id, GROUND)

    services.runner.catch_up()

    row = services.customers.customer(services.read_models, customer_id)
    assert row is not None and row.erased
    assert set(row.sealed.values()) == {None}


@pytest.mark.requirement("DSR-ERASE")
def test_long_history_is_loaded_from_a_snapshot_and_erasure_reaches_it(
    crm: CRM, sales: Actor, customer_id: UUID
) -> None:
    # Erasure loads the customer: a snapshot every 100 versions keeps that load
    # (and so erasure's time) bounded however long the history grows.
    customer = crm.customer(customer_id)
    while customer.version < 250:
        customer.change_stage(("lead", "prospect")[customer.version % 2], str(sales))
    crm.save(customer)
    customer = crm.customer(customer_id)
    while customer.version < 300:
        customer.change_stage(("lead", "prospect")[customer.version % 2], str(sales))
    crm.save(customer)

    crm.erase_customer(DPO, customer_id, GROUND)

    assert crm.snapshots is not None
    (snapshot,) = crm.snapshots.get(customer_id, desc=True, limit=1)
    assert snapshot.originator_version == 300
    assert crm.customer(customer_id).full_name is ERASED
