"""Ledger entries: one canonical JSON record of metadata per stored event."""

import hashlib
import json
import logging
import struct
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from ledger.tiles import MAX_ENTRY_BYTES, TILE_WIDTH, encode_tile_index

logger = logging.getLogger(__name__)

ENTRY_FORMAT = "ledgercrm-entry/1"
MAX_ACTOR_CHARS = 256
_EVENT_HEADER = struct.Struct(">QI")
_REQUIRED = {
    "format": str,
    "notification_id": int,
    "originator_id": str,
    "originator_version": int,
    "topic": str,
    "recorded_at": str,
    "state_sha256": str,
}


class StoredEventRecord(Protocol):
    """What the ledger reads of a stored event (an eventsourcing Notification)."""

    @property
    def id(self) -> int: ...

    @property
    def originator_id(self) -> UUID | str: ...

    @property
    def originator_version(self) -> int: ...

    @property
    def topic(self) -> str: ...

    @property
    def state(self) -> bytes: ...


def canonical_json(value: dict[str, Any]) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8 without escapes."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def format_utc(moment: datetime) -> str:
    """An aware time as `2026-01-02T03:04:05.000006Z`."""
    if moment.tzinfo is None:
        raise ValueError("ledger times must be timezone-aware; pass datetime.now(UTC)")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_entry(record: StoredEventRecord, integrated_at: datetime) -> bytes:
    """The entry bytes of one stored event, to be stored and hashed verbatim.

    The time is the event's own JSON "timestamp" where it parses, else the
    integration time; the actor is the event's string "actor" where it has one.
    """
    state_fields = _state_fields(record.state)
    fields: dict[str, Any] = {
        "format": ENTRY_FORMAT,
        "notification_id": record.id,
        "originator_id": str(record.originator_id),
        "originator_version": record.originator_version,
        "topic": record.topic,
        "recorded_at": format_utc(_event_time(state_fields) or integrated_at),
        "state_sha256": hashlib.sha256(record.state).hexdigest(),
    }
    actor = _actor(state_fields, record.id)
    if actor is not None:
        fields["actor"] = actor

    entry = canonical_json(fields)
    if len(entry) > MAX_ENTRY_BYTES:
        raise ValueError(
            f"the entry of notification {record.id} is {len(entry)} bytes; "
            f"entries are limited to {MAX_ENTRY_BYTES}: shorten its topic or id"
        )
    return entry


def _state_fields(state: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(state)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _event_time(state_fields: dict[str, Any]) -> datetime | None:
    """eventsourcing stores times as {"_type_": "datetime_iso", "_data_": ...}."""
    timestamp = state_fields.get("timestamp")
    if not isinstance(timestamp, dict) or timestamp.get("_type_") != "datetime_iso":
        return None
    try:
        moment = datetime.fromisoformat(timestamp["_data_"])
    except (KeyError, TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


def _actor(state_fields: dict[str, Any], notification_id: int) -> str | None:
    actor = state_fields.get("actor")
    if not isinstance(actor, str):
        return None
    if len(actor) > MAX_ACTOR_CHARS:
        logger.warning(
            "actor of notification %d is too long; left out", notification_id
        )
        return None
    return actor


def parse_entry(entry: bytes) -> dict[str, Any]:
    """The fields of an entry; ValueError if it is not a ledgercrm-entry/1."""
    try:
        fields = json.loads(entry)
    except ValueError as error:
        raise ValueError("the entry is not JSON") from error
    if not isinstance(fields, dict) or fields.get("format") != ENTRY_FORMAT:
        raise ValueError(f"the entry is not a {ENTRY_FORMAT} record")
    for name, kind in _REQUIRED.items():
        if not isinstance(fields.get(name), kind) or isinstance(fields[name], bool):
            raise ValueError(
                f"the entry's {name!r} is missing or not a {kind.__name__}"
            )
    return fields


def event_bundle_path(index: int, width: int = TILE_WIDTH) -> str:
    """Where an export keeps the stored events of entry bundle `index`."""
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"events/{encode_tile_index(index)}{suffix}"


def encode_event_bundle(records: Sequence[tuple[int, bytes]]) -> bytes:
    """Stored events as (uint64 notification id, uint32 length, state bytes)."""
    return b"".join(
        notification_id.to_bytes(8, "big") + len(state).to_bytes(4, "big") + state
        for notification_id, state in records
    )


def decode_event_bundle(bundle: bytes) -> dict[int, bytes]:
    """The stored event states of a bundle by notification id; ValueError if cut."""
    states, position, end = {}, 0, len(bundle)
    read_header = _EVENT_HEADER.unpack_from
    while position < end:
        if position + 12 > end:
            raise ValueError(f"bundle ends inside a record header at byte {position}")
        notification_id, length = read_header(bundle, position)
        position += 12
        if position + length > end:
            raise ValueError(f"event at byte {position} runs past the bundle end")
        states[notification_id] = bundle[position : position + length]
        position += length
    return states
