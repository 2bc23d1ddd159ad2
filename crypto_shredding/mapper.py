"""A Mapper that seals marked personal fields before anything is stored."""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, get_args, get_origin, get_type_hints
from uuid import UUID

from eventsourcing.domain import CanSnapshotAggregate, DomainEventProtocol
from eventsourcing.persistence import (
    Cipher,
    Compressor,
    EventStore,
    JSONTranscoder,
    Mapper,
    Recording,
    StoredEvent,
    Transcoder,
    Transcoding,
)
from eventsourcing.utils import resolve_topic

from crypto_shredding.data_keys import DataKeys
from crypto_shredding.errors import MarkerError, UndecryptableError
from crypto_shredding.markers import (
    ERASED,
    DataSubject,
    Erased,
    Personal,
    PersonalState,
)
from crypto_shredding.sealing import FieldContext, SealedValue, seal, unseal

SNAPSHOT_FIELD_PREFIX = "state."

logger = logging.getLogger(__name__)


class Ciphertext(bytes):
    """Sealed bytes inside a stored event's state, transcoded as base64 text."""


class ErasedAsMarker(Transcoding):
    """Lets a snapshot of an erased aggregate keep its fields as ERASED."""

    type = Erased
    name = "erased"

    def encode(self, obj: Erased) -> str:
        return ""

    def decode(self, data: str) -> Erased:
        return ERASED


class CiphertextAsBase64(Transcoding):
    type = Ciphertext
    name = "sealed"

    def encode(self, obj: Ciphertext) -> str:
        return base64.b64encode(obj).decode("ascii")

    def decode(self, data: str) -> Ciphertext:
        return Ciphertext(base64.b64decode(data))


@dataclass(frozen=True)
class PersonalLayout:
    """Which fields of an event class are personal, and which names the subject."""

    subject: str
    fields: tuple[str, ...]


class PersonalDataMapper(Mapper[UUID]):
    """Seals personal fields with the subject's data key; opens them on the way back.

    A field whose key was shredded reads as ERASED. `to_sealed_domain_event` leaves
    the fields as SealedValue objects, for read models that must not hold plaintext.
    """

    def __init__(
        self,
        transcoder: Transcoder,
        data_keys: DataKeys,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
    ) -> None:
        super().__init__(transcoder, compressor=compressor, cipher=cipher)
        if not isinstance(transcoder, JSONTranscoder):
            raise TypeError("PersonalDataMapper needs eventsourcing's JSONTranscoder")
        transcoder.register(CiphertextAsBase64())
        transcoder.register(ErasedAsMarker())
        self.data_keys = data_keys

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        if not _locate_personal_values(domain_event, vars(domain_event)):
            return super().to_stored_event(domain_event)
        sealed_event = _copy_for_sealing(domain_event)
        located = _locate_personal_values(sealed_event, vars(sealed_event))
        for target, context, value in located:
            data_key = self.data_keys.for_writing(context.subject_id)
            plaintext = self.transcoder.encode(value)
            target[_key(context.field)] = Ciphertext(seal(data_key, plaintext, context))
        return super().to_stored_event(sealed_event)

    def prepare_to_store(self, domain_events: Sequence[Any]) -> None:
        """Fetches or creates, at once, the data keys every one of these events'
        personal values will be sealed with."""
        self.data_keys.prepare_for_writing(
            context.subject_id
            for domain_event in domain_events
            for _, context, _ in _locate_personal_values(
                domain_event, vars(domain_event)
            )
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        domain_event = super().to_domain_event(stored_event)
        for target, context, value in _locate_personal_values(
            domain_event, vars(domain_event)
        ):
            target[_key(context.field)] = self._open(
                _ciphertext(value, context), context
            )
        return domain_event

    def to_sealed_domain_event(self, stored_event: StoredEvent) -> Any:
        """The event with personal fields left as SealedValue objects, unopened."""
        domain_event = super().to_domain_event(stored_event)
        for target, context, value in _locate_personal_values(
            domain_event, vars(domain_event)
        ):
            target[_key(context.field)] = SealedValue(
                context, _ciphertext(value, context)
            )
        return domain_event

    def open_sealed(self, sealed: SealedValue) -> Any:
        """The plaintext of a sealed value, or ERASED once its data key is gone."""
        return self._open(sealed.ciphertext, sealed.context)

    def _open(self, ciphertext: bytes, context: FieldContext) -> Any:
        data_key = self.data_keys.for_reading(context.subject_id)
        if data_key is None:
            return ERASED
        try:
            plaintext = unseal(data_key, ciphertext, context)
        except UndecryptableError:
            _warn_undecryptable(context)
            raise
        return self.transcoder.decode(plaintext)


def _ciphertext(value: Any, context: FieldContext) -> bytes:
    """A stored personal value must be ciphertext; anything else was tampered with."""
    if not isinstance(value, Ciphertext):
        _warn_undecryptable(context)
        raise UndecryptableError
    return bytes(value)


def _warn_undecryptable(context: FieldContext) -> None:
    """Tampered or transplanted: ids and the field name only, never the bytes."""
    logger.warning(
        "field %s of %s version %d (subject %s) cannot be decrypted",
        context.field,
        context.originator_id,
        context.originator_version,
        context.subject_id,
    )


def _copy_for_sealing(domain_event: Any) -> Any:
    """A copy whose state can be overwritten without touching the original."""
    copy = object.__new__(type(domain_event))
    copy.__dict__.update(vars(domain_event))
    if isinstance(domain_event, CanSnapshotAggregate):
        copy.__dict__["state"] = dict(domain_event.state)
    return copy


def _key(field: str) -> str:
    return field.removeprefix(SNAPSHOT_FIELD_PREFIX)


class SealingEventStore(EventStore[UUID]):
    """An event store that readies the data keys of a whole save at once."""

    def put(
        self, domain_events: Sequence[DomainEventProtocol[UUID]], **kwargs: Any
    ) -> list[Recording[UUID]]:
        if isinstance(self.mapper, PersonalDataMapper) and len(domain_events) > 1:
            self.mapper.prepare_to_store(domain_events)
        return super().put(domain_events, **kwargs)


def _locate_personal_values(
    event: Any, event_state: dict[str, Any]
) -> list[tuple[dict[str, Any], FieldContext, Any]]:
    """Each personal value present, with the dict holding it and its sealing context."""
    if isinstance(event, CanSnapshotAggregate):
        return _locate_in_snapshot(event)
    layout = personal_layout(type(event))  # type: ignore[arg-type]
    if layout is None:
        return []
    subject_id = event_state[layout.subject]
    return [
        (event_state, _context(event, subject_id, name), event_state[name])
        for name in layout.fields
        if event_state.get(name) is not None
    ]


def _locate_in_snapshot(
    snapshot: Any,
) -> list[tuple[dict[str, Any], FieldContext, Any]]:
    declared = getattr(resolve_topic(snapshot.topic), "__personal_state__", None)
    if not isinstance(declared, PersonalState):
        return []
    state: dict[str, Any] = snapshot.state
    if declared.subject == "originator_id":
        subject_id = snapshot.originator_id
    else:
        subject_id = state[declared.subject]
    return [
        (
            state,
            _context(snapshot, subject_id, SNAPSHOT_FIELD_PREFIX + name),
            state[name],
        )
        for name in declared.fields
        if state.get(name) is not None and state[name] is not ERASED
    ]


def _context(event: Any, subject_id: Any, field: str) -> FieldContext:
    return FieldContext(
        subject_id=_as_uuid(subject_id),
        originator_id=_as_uuid(event.originator_id),
        originator_version=int(event.originator_version),
        field=field,
    )


def _as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


@cache
def personal_layout(event_class: type) -> PersonalLayout | None:
    """Reads the Personal and DataSubject markers of an event class, once."""
    hints = get_type_hints(event_class, include_extras=True)
    personal = tuple(name for name, hint in hints.items() if _marked(hint, Personal))
    subjects = [name for name, hint in hints.items() if _marked(hint, DataSubject)]
    if not personal:
        return None
    if len(subjects) != 1:
        raise MarkerError(
            f"{event_class.__qualname__} marks personal fields {personal} and "
            f"{len(subjects)} data subject fields; mark exactly one field "
            "Annotated[UUID, DataSubject]"
        )
    return PersonalLayout(subject=subjects[0], fields=personal)


def _marked(hint: Any, marker: object) -> bool:
    if get_origin(hint) is None or not hasattr(hint, "__metadata__"):
        return False
    return any(meta is marker for meta in get_args(hint)[1:])
