"""The sealing mapper on a small test aggregate: round trip, tampering, shredding."""

import base64
import json
import uuid
from typing import Annotated, Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate, Snapshot
from eventsourcing.persistence import Mapper, StoredEvent

from crypto_shredding import (
    ERASED,
    DataKeys,
    DataSubject,
    MarkerError,
    Personal,
    PersonalDataMapper,
    PersonalState,
    SealedValue,
    SubjectErasedError,
    UndecryptableError,
)

NICKNAME = "Bà Tư bán bánh mì"
MOTTO = "motto-plaintext-7f3a"


class Member(Aggregate):
    """A test aggregate whose events carry personal fields of one person."""

    __personal_state__ = PersonalState(
        subject="person_id", fields=("nickname", "motto")
    )

    class Joined(Aggregate.Created):
        person_id: Annotated[UUID, DataSubject]
        nickname: Annotated[str, Personal]
        motto: Annotated[str, Personal]
        level: int

    class Renamed(Aggregate.Event):
        person_id: Annotated[UUID, DataSubject]
        nickname: Annotated[str, Personal]

        def apply(self, member: "Member") -> None:
            member.nickname = self.nickname

    class Promoted(Aggregate.Event):
        level: int

        def apply(self, member: "Member") -> None:
            member.level = self.level

    class NotedWithoutSubject(Aggregate.Event):
        note: Annotated[str, Personal]

    class NotedAboutTwo(Aggregate.Event):
        first_id: Annotated[UUID, DataSubject]
        second_id: Annotated[UUID, DataSubject]
        note: Annotated[str, Personal]

    def __init__(self, person_id: UUID, nickname: Any, motto: Any, level: int) -> None:
        self.person_id = person_id
        self.nickname = nickname
        self.motto = motto
        self.level = level


def join(person_id: UUID | None = None) -> Member:
    return Member._create(
        Member.Joined,
        id=uuid.uuid4(),
        person_id=person_id or uuid.uuid4(),
        nickname=NICKNAME,
        motto=MOTTO,
        level=1,
    )


def joined_event(person_id: UUID | None = None) -> Member.Joined:
    (event,) = join(person_id).collect_events()
    return event


def holds_plaintext(blob: bytes, text: str) -> bool:
    escaped = json.dumps(text)[1:-1].encode()
    return text.encode() in blob or escaped in blob


def sealed_bytes(stored: StoredEvent, field: str) -> bytes:
    """The nonce and ciphertext of a sealed field, read from the stored JSON."""
    encoded = json.loads(stored.state)[field]
    assert encoded["_type_"] == "sealed"
    return base64.b64decode(encoded["_data_"])


def with_state(stored: StoredEvent, **fields: Any) -> StoredEvent:
    """The stored event with some fields of its state replaced, as raw JSON."""
    state = {**json.loads(stored.state), **fields}
    return StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=json.dumps(state).encode(),
    )


def with_sealed(stored: StoredEvent, field: str, sealed: bytes) -> StoredEvent:
    encoded = {"_type_": "sealed", "_data_": base64.b64encode(sealed).decode()}
    return with_state(stored, **{field: encoded})


@pytest.mark.requirement("ENCRYPT-AT-REST")
def test_stored_state_holds_no_plaintext(mapper: PersonalDataMapper) -> None:
    stored = mapper.to_stored_event(joined_event())

    assert not holds_plaintext(stored.state, NICKNAME)
    assert not holds_plaintext(stored.state, MOTTO)
    assert json.loads(stored.state)["level"] == 1


def test_round_trip_restores_personal_fields(mapper: PersonalDataMapper) -> None:
    event = joined_event()

    restored = mapper.to_domain_event(mapper.to_stored_event(event))

    assert restored == event
    assert restored.nickname == NICKNAME
    assert restored.motto == MOTTO


def test_storing_leaves_the_domain_event_untouched(
    mapper: PersonalDataMapper,
) -> None:
    event = joined_event()

    mapper.to_stored_event(event)

    assert event.nickname == NICKNAME


def test_flipped_ciphertext_byte_is_undecryptable(
    mapper: PersonalDataMapper,
) -> None:
    stored = mapper.to_stored_event(joined_event())
    tampered = bytearray(sealed_bytes(stored, "nickname"))
    tampered[-1] ^= 0x01

    with pytest.raises(UndecryptableError) as refused:
        mapper.to_domain_event(with_sealed(stored, "nickname", bytes(tampered)))

    assert str(refused.value) == "a sealed personal value cannot be decrypted"
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__


def test_flipped_nonce_byte_is_undecryptable(mapper: PersonalDataMapper) -> None:
    stored = mapper.to_stored_event(joined_event())
    tampered = bytearray(sealed_bytes(stored, "motto"))
    tampered[0] ^= 0x80

    with pytest.raises(UndecryptableError):
        mapper.to_domain_event(with_sealed(stored, "motto", bytes(tampered)))


def test_value_moved_to_another_field_is_undecryptable(
    mapper: PersonalDataMapper,
) -> None:
    stored = mapper.to_stored_event(joined_event())
    nickname = sealed_bytes(stored, "nickname")

    with pytest.raises(UndecryptableError):
        mapper.to_domain_event(with_sealed(stored, "motto", nickname))


def test_value_moved_to_another_event_is_undecryptable(
    mapper: PersonalDataMapper,
) -> None:
    member = join()
    member.trigger_event(Member.Renamed, person_id=member.person_id, nickname="Cô Ba")
    joined, renamed = (mapper.to_stored_event(e) for e in member.collect_events())
    first_nickname = sealed_bytes(joined, "nickname")

    with pytest.raises(UndecryptableError):
        mapper.to_domain_event(with_sealed(renamed, "nickname", first_nickname))


def test_value_moved_to_another_subject_is_undecryptable(
    mapper: PersonalDataMapper,
) -> None:
    ours = mapper.to_stored_event(joined_event())
    theirs = mapper.to_stored_event(joined_event())

    with pytest.raises(UndecryptableError):
        mapper.to_domain_event(
            with_sealed(ours, "nickname", sealed_bytes(theirs, "nickname"))
        )


def test_plaintext_put_in_place_of_ciphertext_is_undecryptable(
    mapper: PersonalDataMapper,
) -> None:
    stored = mapper.to_stored_event(joined_event())

    with pytest.raises(UndecryptableError):
        mapper.to_domain_event(with_state(stored, nickname="Mallory"))


def test_erased_marker_put_in_place_of_ciphertext_is_undecryptable(
    mapper: PersonalDataMapper,
) -> None:
    stored = mapper.to_stored_event(joined_event())

    with pytest.raises(UndecryptableError):
        mapper.to_domain_event(
            with_state(stored, nickname={"_type_": "erased", "_data_": ""})
        )


@pytest.mark.requirement("DSR-ERASE")
def test_shredded_subject_reads_as_erased(
    mapper: PersonalDataMapper, data_keys: DataKeys
) -> None:
    event = joined_event()
    stored = mapper.to_stored_event(event)

    data_keys.shred(event.person_id, "erasure request")
    restored = mapper.to_domain_event(stored)

    assert restored.nickname is ERASED
    assert restored.motto is ERASED
    assert restored.level == 1
    assert restored.person_id == event.person_id


def test_personal_data_for_a_shredded_subject_is_refused(
    mapper: PersonalDataMapper, data_keys: DataKeys
) -> None:
    event = joined_event()
    data_keys.shred(event.person_id, "erasure request")

    with pytest.raises(SubjectErasedError):
        mapper.to_stored_event(event)


def test_event_without_personal_fields_is_stored_unchanged(
    mapper: PersonalDataMapper, plain_mapper: Mapper[UUID], data_keys: DataKeys
) -> None:
    member = join()
    member.collect_events()
    member.trigger_event(Member.Promoted, level=2)
    (promoted,) = member.collect_events()

    stored = mapper.to_stored_event(promoted)

    assert stored == plain_mapper.to_stored_event(promoted)
    assert mapper.to_domain_event(stored) == promoted
    assert data_keys.store.find(member.person_id) is None


def test_personal_fields_without_a_data_subject_are_refused(
    mapper: PersonalDataMapper,
) -> None:
    member = join()
    member.trigger_event(Member.NotedWithoutSubject, note="a note")
    noted = member.collect_events()[-1]

    with pytest.raises(MarkerError, match="0 data subject fields"):
        mapper.to_stored_event(noted)


def test_personal_fields_with_two_data_subjects_are_refused(
    mapper: PersonalDataMapper,
) -> None:
    member = join()
    member.trigger_event(
        Member.NotedAboutTwo,
        first_id=uuid.uuid4(),
        second_id=uuid.uuid4(),
        note="a note",
    )
    noted = member.collect_events()[-1]

    with pytest.raises(MarkerError, match="2 data subject fields"):
        mapper.to_stored_event(noted)


def test_sealed_event_keeps_personal_fields_as_sealed_values(
    mapper: PersonalDataMapper,
) -> None:
    stored = mapper.to_stored_event(joined_event())

    sealed = mapper.to_sealed_domain_event(stored)

    assert isinstance(sealed.nickname, SealedValue)
    assert SealedValue.from_text(sealed.nickname.to_text()) == sealed.nickname
    assert mapper.open_sealed(sealed.nickname) == NICKNAME
    assert not holds_plaintext(sealed.nickname.to_text().encode(), NICKNAME)


def test_sealed_value_opens_as_erased_after_shred(
    mapper: PersonalDataMapper, data_keys: DataKeys
) -> None:
    event = joined_event()
    stored = mapper.to_stored_event(event)

    data_keys.shred(event.person_id, "erasure request")
    sealed = mapper.to_sealed_domain_event(stored)

    assert isinstance(sealed.motto, SealedValue)
    assert mapper.open_sealed(sealed.motto) is ERASED


@pytest.mark.parametrize("text", ["", "not-sealed", "a.b.c.d.e"])
def test_malformed_sealed_text_is_undecryptable(text: str) -> None:
    with pytest.raises(UndecryptableError):
        SealedValue.from_text(text)


@pytest.mark.requirement("ENCRYPT-AT-REST")
def test_sealing_the_same_value_twice_gives_different_ciphertexts(
    mapper: PersonalDataMapper,
) -> None:
    event = joined_event()

    first = sealed_bytes(mapper.to_stored_event(event), "nickname")
    second = sealed_bytes(mapper.to_stored_event(event), "nickname")

    assert first[:12] != second[:12]
    assert first != second


def test_snapshot_state_is_sealed_under_the_declared_subject(
    mapper: PersonalDataMapper,
) -> None:
    member = join()

    stored = mapper.to_stored_event(Snapshot.take(member))

    assert not holds_plaintext(stored.state, NICKNAME)
    assert not holds_plaintext(stored.state, MOTTO)
    assert mapper.to_domain_event(stored).state["nickname"] == NICKNAME


def test_snapshot_state_reads_as_erased_after_shred(
    mapper: PersonalDataMapper, data_keys: DataKeys
) -> None:
    member = join()
    stored = mapper.to_stored_event(Snapshot.take(member))

    data_keys.shred(member.person_id, "erasure request")
    restored = mapper.to_domain_event(stored).mutate(None)

    assert restored.nickname is ERASED
    assert restored.motto is ERASED
    assert restored.level == 1


def test_sealed_snapshot_value_round_trips_as_text(
    mapper: PersonalDataMapper,
) -> None:
    stored = mapper.to_stored_event(Snapshot.take(join()))

    sealed = mapper.to_sealed_domain_event(stored).state["nickname"]

    assert isinstance(sealed, SealedValue)
    assert SealedValue.from_text(sealed.to_text()) == sealed


def test_transplanted_value_is_logged_as_a_warning_with_ids_only(
    mapper: PersonalDataMapper, caplog: pytest.LogCaptureFixture
) -> None:
    ours = joined_event()
    stored = mapper.to_stored_event(ours)
    theirs = sealed_bytes(mapper.to_stored_event(joined_event()), "nickname")
    caplog.set_level("DEBUG")

    with pytest.raises(UndecryptableError, match=r"^a sealed .* cannot be decrypted$"):
        mapper.to_domain_event(with_sealed(stored, "nickname", theirs))

    (warning,) = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "cannot be decrypted" in warning.getMessage()
    assert str(ours.originator_id) in warning.getMessage()
    assert base64.b64encode(theirs).decode() not in caplog.text
    assert NICKNAME not in caplog.text
    assert MOTTO not in caplog.text
