"""Purposes: unique codes, numbered notices with their text hash, retirement."""

from collections.abc import Callable

import pytest

from api.settings import Settings
from domain import CRM, Actor, notice_sha256
from domain.errors import (
    InvalidValueError,
    PurposeExistsError,
    PurposeNotFoundError,
    PurposeRetiredError,
)

DefinePurpose = Callable[..., object]


@pytest.mark.requirement("NOTICE-BEFORE-COLLECTION")
def test_notices_are_numbered_versions_with_the_hash_of_their_text(
    crm: CRM, admin: Actor, define_purpose: DefinePurpose
) -> None:
    define_purpose("newsletter")

    version, _ = crm.publish_notice(admin, "newsletter", "Bản mới", "New text")

    purpose = crm.purpose("newsletter")
    assert version == 2
    assert [n["version"] for n in purpose.notices] == [1, 2]
    assert purpose.notice(2)["text_sha256"] == notice_sha256("Bản mới", "New text")


def test_duplicate_purpose_code_is_refused(
    crm: CRM, admin: Actor, define_purpose: DefinePurpose
) -> None:
    define_purpose("newsletter")
    before = crm.recorder.max_notification_id()

    with pytest.raises(PurposeExistsError, match="choose another code"):
        crm.define_purpose(
            admin, "newsletter", "Khác", "Other", "consent", [("email", "basic")], 7
        )

    assert crm.recorder.max_notification_id() == before


@pytest.mark.parametrize(
    ("field", "arguments"),
    [
        ("code", {"code": "Marketing Email"}),
        ("legal_basis", {"legal_basis": "legitimate-interest"}),
        ("retention_days", {"retention_days": 0}),
        ("data_categories", {"data_categories": []}),
        ("sensitivity", {"data_categories": [("email", "secret")]}),
    ],
)
def test_invalid_purpose_is_refused_naming_its_field(
    crm: CRM, admin: Actor, field: str, arguments: dict[str, object]
) -> None:
    purpose = {
        "code": "newsletter",
        "title_vi": "Bản tin",
        "title_en": "Newsletter",
        "legal_basis": "consent",
        "data_categories": [("email", "basic")],
        "retention_days": 30,
        **arguments,
    }
    before = crm.recorder.max_notification_id()

    with pytest.raises(InvalidValueError) as refused:
        crm.define_purpose(admin, **purpose)  # type: ignore[arg-type]

    assert refused.value.field == field
    assert crm.recorder.max_notification_id() == before


def test_retired_purpose_takes_no_new_notice(
    crm: CRM, admin: Actor, define_purpose: DefinePurpose
) -> None:
    define_purpose("newsletter")
    crm.retire_purpose(admin, "newsletter")

    with pytest.raises(PurposeRetiredError):
        crm.publish_notice(admin, "newsletter", "Bản mới", "New text")

    assert crm.purpose("newsletter").retired


def test_unknown_purpose_is_reported_by_its_code(crm: CRM) -> None:
    with pytest.raises(PurposeNotFoundError, match="'no-such-purpose'"):
        crm.purpose("no-such-purpose")


def test_a_purpose_changed_by_another_process_is_read_as_changed_at_once(
    crm: CRM, admin: Actor, define_purpose: DefinePurpose, settings: Settings
) -> None:
    """Purposes stay decoded in memory, but every read asks the store for later
    events: a retirement recorded elsewhere holds at the next read."""
    from api.wiring import open_services

    define_purpose("newsletter")
    assert not crm.purpose("newsletter").retired  # now held in memory
    elsewhere = open_services(settings)
    try:
        elsewhere.crm.retire_purpose(admin, "newsletter")
    finally:
        elsewhere.close()

    assert crm.purpose("newsletter").retired
    assert [p.retired for p in crm.purposes()] == [True]


def test_a_change_never_saved_leaves_the_purpose_as_recorded(
    crm: CRM, admin: Actor, define_purpose: DefinePurpose
) -> None:
    """Each read gets its own copy: a command that changes a purpose and then
    fails to save it leaves no trace in what later reads see."""
    define_purpose("newsletter")
    unsaved = crm.purpose("newsletter")
    unsaved.retire(str(admin))

    assert unsaved.retired
    assert not crm.purpose("newsletter").retired
    assert [n["version"] for n in crm.purpose("newsletter").notices] == [1]
