"""The wrapping key file: owner-only, never overwritten, refused when exposed."""

import os
import stat
from pathlib import Path

import pytest

from crypto_shredding import (
    UndecryptableError,
    WrappingKeyError,
    create_wrapping_key_file,
    load_wrapping_keys,
)


def test_key_file_is_created_readable_by_its_owner_only(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "wrapping_key.json"

    create_wrapping_key_file(key_file)

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_key_file_loads_the_created_key_as_current(tmp_path: Path) -> None:
    key_file = tmp_path / "wrapping_key.json"

    created = create_wrapping_key_file(key_file)

    ring = load_wrapping_keys(key_file)
    assert ring.current == created
    assert len(created.secret) == 32


def test_existing_key_file_is_never_overwritten(tmp_path: Path) -> None:
    key_file = tmp_path / "wrapping_key.json"
    create_wrapping_key_file(key_file)
    before = key_file.read_bytes()

    with pytest.raises(WrappingKeyError, match="never overwritten"):
        create_wrapping_key_file(key_file)

    assert key_file.read_bytes() == before


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    key_file = tmp_path / "wrapping_key.json"
    create_wrapping_key_file(key_file)
    os.chmod(key_file, mode)

    with pytest.raises(WrappingKeyError, match="chmod 600"):
        load_wrapping_keys(key_file)


def test_missing_key_file_says_how_to_create_or_find_it(tmp_path: Path) -> None:
    with pytest.raises(WrappingKeyError) as refused:
        load_wrapping_keys(tmp_path / "absent.json")

    message = str(refused.value)
    assert "ledgercrm init" in message
    assert "LEDGERCRM_WRAPPING_KEY_FILE" in message


def test_malformed_key_file_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "wrapping_key.json"
    key_file.write_text('{"format": "something else"}')
    os.chmod(key_file, 0o600)

    with pytest.raises(WrappingKeyError, match="not a ledgercrm-wrapping-key/1"):
        load_wrapping_keys(key_file)


def test_data_key_wrapped_by_another_wrapping_key_is_undecryptable(
    tmp_path: Path,
) -> None:
    ours = create_wrapping_key_file(tmp_path / "ours.json")
    theirs = create_wrapping_key_file(tmp_path / "theirs.json")
    wrapped = theirs.wrap(os.urandom(32))

    with pytest.raises(UndecryptableError):
        ours.unwrap(wrapped)
