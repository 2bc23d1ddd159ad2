"""Ledger entries: canonical JSON metadata and the digest of the stored bytes."""

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from eventsourcing.persistence import Notification

from ledger.entries import canonical_json, make_entry, parse_entry

INTEGRATED_AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
ORIGINATOR = uuid.UUID("3781fd64-ac87-4438-b89b-001e82c0915b")


def notification(
    state: bytes, topic: str = "domain:Customer.Registered"
) -> Notification:
    return Notification(
        id=17, originator_id=ORIGINATOR, originator_version=3, topic=topic, state=state
    )


def test_entry_is_canonical_json_with_time_actor_and_state_digest() -> None:
    state = (
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-01-02T10:04:05.000006'
        b'+07:00"},"actor":"sales:7f1c","name":"c1phertext"}'
    )

    entry = make_entry(notification(state), INTEGRATED_AT)

    assert (
        entry
        == (
            '{"actor":"sales:7f1c","format":"ledgercrm-entry/1","notification_id":17,'
            '"originator_id":"3781fd64-ac87-4438-b89b-001e82c0915b",'
            '"originator_version":3,"recorded_at":"2026-01-02T03:04:05.000006Z",'
            f'"state_sha256":"{hashlib.sha256(state).hexdigest()}",'
            '"topic":"domain:Customer.Registered"}'
        ).encode()
    )


def test_state_that_is_not_json_takes_the_integration_time_and_no_actor() -> None:
    entry = make_entry(notification(b"\x00\x01 encrypted"), INTEGRATED_AT)

    fields = json.loads(entry)
    assert fields["recorded_at"] == "2026-03-01T08:00:00.000000Z"
    assert "actor" not in fields


def test_naive_or_malformed_event_time_falls_back_to_the_integration_time() -> None:
    for data in ('"2026-01-02T10:04:05"', '"yesterday"', "12"):
        state = f'{{"timestamp":{{"_type_":"datetime_iso","_data_":{data}}}}}'

        entry = make_entry(notification(state.encode()), INTEGRATED_AT)

        assert json.loads(entry)["recorded_at"] == "2026-03-01T08:00:00.000000Z"


def test_actor_must_be_a_string_to_be_recorded() -> None:
    entry = make_entry(notification(b'{"actor": {"role": "sales"}}'), INTEGRATED_AT)

    assert "actor" not in json.loads(entry)


def test_non_ascii_topic_is_kept_as_utf8_not_escaped() -> None:
    entry = make_entry(notification(b"{}", topic="miền:Khách"), INTEGRATED_AT)

    assert "miền:Khách".encode() in entry


def test_integration_time_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_entry(notification(b""), datetime(2026, 1, 1))


def test_other_time_zones_are_written_in_utc() -> None:
    later = INTEGRATED_AT.astimezone(timezone(timedelta(hours=7)))

    entry = make_entry(notification(b""), later)

    assert json.loads(entry)["recorded_at"] == "2026-03-01T08:00:00.000000Z"


def test_canonical_json_sorts_keys_without_spaces() -> None:
    assert canonical_json({"b": 1, "a": [1, "é"]}) == '{"a":[1,"é"],"b":1}'.encode()


def test_entry_without_its_format_tag_is_refused() -> None:
    with pytest.raises(ValueError, match="ledgercrm-entry/1"):
        parse_entry(b'{"format":"other/1"}')
    with pytest.raises(ValueError, match="notification_id"):
        parse_entry(b'{"format":"ledgercrm-entry/1","notification_id":"1"}')
