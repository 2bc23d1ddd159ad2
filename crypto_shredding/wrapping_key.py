"""The wrapping key: kept in a file outside the database, it wraps every data key."""

from __future__ import annotations

import base64
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap,
    aes_key_wrap,
)

from crypto_shredding.errors import UndecryptableError, WrappingKeyError

FILE_FORMAT = "ledgercrm-wrapping-key/1"
KEY_FILE_SETTING = "LEDGERCRM_WRAPPING_KEY_FILE"


class Wrapper(Protocol):
    """One wrapping key version: wraps and unwraps data keys, wherever it lives."""

    @property
    def version(self) -> int: ...

    def wrap(self, data_key: bytes) -> bytes: ...

    def unwrap(self, wrapped_data_key: bytes) -> bytes: ...


class WrappingKeys(Protocol):
    """Every wrapping key version, the current one wrapping new data keys."""

    @property
    def current(self) -> Wrapper: ...

    @property
    def description(self) -> str:
        """Where the keys live, for messages: a file path or a token label."""

    @property
    def setting(self) -> str:
        """The setting an operator changes to point at the right keys."""

    def version(self, number: int) -> Wrapper: ...

    def numbers(self) -> list[int]: ...

    def refreshed(self) -> WrappingKeys:
        """The keys as they are now: a rotation in another process may add one."""


@dataclass(frozen=True)
class WrappingKey:
    """An AES-256 key-encryption key with the version recorded beside each wrap."""

    version: int
    secret: bytes

    def wrap(self, data_key: bytes) -> bytes:
        return aes_key_wrap(self.secret, data_key)

    def unwrap(self, wrapped_data_key: bytes) -> bytes:
        try:
            return aes_key_unwrap(self.secret, wrapped_data_key)
        except InvalidUnwrap:
            raise UndecryptableError from None

    def __repr__(self) -> str:
        return f"WrappingKey(version={self.version})"


def create_wrapping_key_file(path: Path) -> WrappingKey:
    """Creates a new key file readable by its owner only; never overwrites one."""
    wrapping_key = WrappingKey(version=1, secret=os.urandom(32))
    document = {
        "format": FILE_FORMAT,
        "current": wrapping_key.version,
        "keys": {str(wrapping_key.version): _b64(wrapping_key.secret)},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise WrappingKeyError(
            f"wrapping key file {path} exists; it is never overwritten, since every "
            "data key depends on it"
        ) from None
    with os.fdopen(descriptor, "w") as file:
        json.dump(document, file)
        file.flush()
        os.fsync(file.fileno())
    _fsync_folder(path.parent)
    return wrapping_key


def _fsync_folder(folder: Path) -> None:
    """Makes the new file's name durable too, not only its bytes."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@dataclass(frozen=True)
class WrappingKeyRing:
    """Every wrapping key version in the key file, and the one that wraps new keys."""

    current: WrappingKey
    versions: dict[int, WrappingKey]
    description: str = field(default="the wrapping key file")
    setting: str = field(default=KEY_FILE_SETTING)
    path: Path | None = field(default=None)
    modified_ns: int = field(default=0)

    def version(self, number: int) -> WrappingKey:
        try:
            return self.versions[number]
        except KeyError:
            raise WrappingKeyError(
                f"wrapping key version {number} is not in {self.description}; "
                f"restore the key file that holds it and point {self.setting} at it"
            ) from None

    def numbers(self) -> list[int]:
        return sorted(self.versions)

    def refreshed(self) -> WrappingKeyRing:
        if self.path is None or _modified_ns(self.path) == self.modified_ns:
            return self
        return load_wrapping_keys(self.path)


def load_wrapping_keys(path: Path) -> WrappingKeyRing:
    """Reads the key file, refusing a file that others may read."""
    modified_ns = _modified_ns(path)
    document = _read_key_file(path)
    try:
        versions = {
            int(number): WrappingKey(int(number), base64.b64decode(secret))
            for number, secret in document["keys"].items()  # type: ignore[attr-defined]
        }
        current = versions[int(document["current"])]  # type: ignore[call-overload]
    except (KeyError, ValueError, TypeError, AttributeError) as error:
        raise WrappingKeyError(
            f"wrapping key file {path} is malformed; restore it from backup"
        ) from error
    description = f"wrapping key file {path}"
    return WrappingKeyRing(
        current, versions, description, path=path, modified_ns=modified_ns
    )


def _modified_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def add_wrapping_key_version(path: Path) -> WrappingKey:
    """Adds a new current version to the key file; older versions stay to unwrap."""
    document = _read_key_file(path)
    keys = dict(document["keys"])  # type: ignore[call-overload]
    version = max(int(number) for number in keys) + 1
    wrapping_key = WrappingKey(version, os.urandom(32))
    keys[str(version)] = _b64(wrapping_key.secret)
    _replace_key_file(path, {**document, "current": version, "keys": keys})
    return wrapping_key


def remove_wrapping_key_version(path: Path, version: int) -> None:
    """Deletes a retired version from the key file; the current one stays."""
    document = _read_key_file(path)
    keys = dict(document["keys"])  # type: ignore[call-overload]
    if version == int(document["current"]):  # type: ignore[call-overload]
        raise WrappingKeyError(
            f"wrapping key version {version} is the current one; rotate first"
        )
    keys.pop(str(version), None)
    _replace_key_file(path, {**document, "keys": keys})


def _replace_key_file(path: Path, document: dict[str, object]) -> None:
    """Writes a new key file beside the old one, then renames it over, so a crash
    leaves either the old file or the new one, never half of one."""
    staged = path.with_name(path.name + ".new")
    staged.unlink(missing_ok=True)
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(document, file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(staged, path)
    _fsync_folder(path.parent)


def _read_key_file(path: Path) -> dict[str, object]:
    if not path.exists():
        raise WrappingKeyError(
            f"wrapping key file {path} does not exist; run `ledgercrm init` or set "
            "LEDGERCRM_WRAPPING_KEY_FILE to the key file"
        )
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise WrappingKeyError(
            f"wrapping key file {path} is readable by others; run `chmod 600 {path}`"
        )
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise WrappingKeyError(
            f"wrapping key file {path} cannot be read; restore it from backup"
        ) from error
    if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
        raise WrappingKeyError(f"wrapping key file {path} is not a {FILE_FORMAT} file")
    return document


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
