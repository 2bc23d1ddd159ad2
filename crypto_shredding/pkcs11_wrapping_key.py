"""Wrapping keys inside a PKCS#11 token (an HSM): they never leave it.

Each version is a non-extractable AES-256 secret key object labelled
`<key label>-v<version>`; data keys are wrapped and unwrapped by AES-GCM inside
the token, with a fresh 96-bit nonce per wrap and the version as associated data.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11.exceptions import (
    NoSuchToken,
    PinIncorrect,
    PinInvalid,
    PinLenRange,
    PinLocked,
    PKCS11Error,
    UserAlreadyLoggedIn,
)
from pkcs11.mechanisms import GCMParams

from crypto_shredding.errors import UndecryptableError, WrappingKeyError

NONCE_BYTES = 12
SETTINGS = "LEDGERCRM_PKCS11_MODULE, LEDGERCRM_PKCS11_TOKEN_LABEL, LEDGERCRM_PKCS11_PIN"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenSettings:
    """Which PKCS#11 module and token hold the wrapping keys, and how to log in."""

    module: Path
    token_label: str
    pin: str
    key_label: str = "ledgercrm-wrapping-key"

    def __repr__(self) -> str:
        return f"TokenSettings(token_label={self.token_label!r})"  # never the PIN


class Pkcs11WrappingKey:
    """One wrapping key version, used inside the token."""

    def __init__(self, version: int, key: Any, lock: threading.Lock) -> None:
        self._version = version
        self._key = key
        self._lock = lock

    @property
    def version(self) -> int:
        return self._version

    def wrap(self, data_key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        with self._lock:
            wrapped: bytes = self._key.encrypt(
                data_key, mechanism=Mechanism.AES_GCM, mechanism_param=self._gcm(nonce)
            )
        return nonce + wrapped

    def unwrap(self, wrapped_data_key: bytes) -> bytes:
        nonce, wrapped = wrapped_data_key[:NONCE_BYTES], wrapped_data_key[NONCE_BYTES:]
        try:
            with self._lock:
                data_key: bytes = self._key.decrypt(
                    wrapped,
                    mechanism=Mechanism.AES_GCM,
                    mechanism_param=self._gcm(nonce),
                )
        except PKCS11Error:
            raise UndecryptableError from None
        return data_key

    def _gcm(self, nonce: bytes) -> GCMParams:
        return GCMParams(nonce, f"ledgercrm-data-key/1 v{self._version}".encode())

    def __repr__(self) -> str:
        return f"Pkcs11WrappingKey(version={self._version})"


class Pkcs11WrappingKeys:
    """Every wrapping key version in the token; the highest wraps new data keys."""

    setting = SETTINGS

    def __init__(self, settings: TokenSettings, *, allow_none: bool = False) -> None:
        self.settings = settings
        self.description = f"PKCS#11 token {settings.token_label!r}"
        self._lock = threading.Lock()
        self._session = _open_session(settings)
        self._versions = self._find_versions()
        if not self._versions and not allow_none:
            self.close()
            raise WrappingKeyError(
                f"{self.description} holds no wrapping key labelled "
                f"{settings.key_label}-v<N>; run `ledgercrm init` to create one, or "
                "check LEDGERCRM_PKCS11_KEY_LABEL"
            )

    @property
    def current(self) -> Pkcs11WrappingKey:
        return self._versions[max(self._versions)]

    def version(self, number: int) -> Pkcs11WrappingKey:
        try:
            return self._versions[number]
        except KeyError:
            raise WrappingKeyError(
                f"wrapping key version {number} is not in {self.description}; "
                f"restore it to the token or check {SETTINGS}"
            ) from None

    def numbers(self) -> list[int]:
        return sorted(self._versions)

    def refreshed(self) -> Pkcs11WrappingKeys:
        self._versions = self._find_versions()
        return self

    def create_version(self) -> int:
        """Generates the next version inside the token; it becomes current."""
        number = max(self._versions, default=0) + 1
        with self._lock:
            self._session.generate_key(
                KeyType.AES,
                256,
                label=self._label(number),
                store=True,
                capabilities=MechanismFlag.ENCRYPT | MechanismFlag.DECRYPT,
                template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
            )
        self.refreshed()
        logger.info("wrapping key version %d created in the token", number)
        return number

    def destroy_version(self, number: int) -> None:
        """Destroys a retired version inside the token; it cannot be undone."""
        key = self.version(number)._key
        with self._lock:
            key.destroy()
        self.refreshed()
        logger.info("wrapping key version %d destroyed in the token", number)

    def close(self) -> None:
        with self._lock:
            self._session.close()

    def _label(self, number: int) -> str:
        return f"{self.settings.key_label}-v{number}"

    def _find_versions(self) -> dict[int, Pkcs11WrappingKey]:
        pattern = re.compile(re.escape(self.settings.key_label) + r"-v(\d+)")
        found: dict[int, Pkcs11WrappingKey] = {}
        with self._lock:
            keys = list(
                self._session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY})
            )
            for key in keys:
                match = pattern.fullmatch(key.label or "")
                if match:
                    found[int(match[1])] = Pkcs11WrappingKey(
                        int(match[1]), key, self._lock
                    )
        return found


def _open_session(settings: TokenSettings) -> Any:
    """A read-write session, logged in; every failure names the setting to fix."""
    try:
        library = pkcs11.lib(str(settings.module))
    except (OSError, RuntimeError, PKCS11Error) as error:
        raise WrappingKeyError(
            f"cannot load the PKCS#11 module {settings.module}; set "
            "LEDGERCRM_PKCS11_MODULE to the HSM's library, such as "
            "/usr/lib/softhsm/libsofthsm2.so"
        ) from error
    try:
        token = library.get_token(token_label=settings.token_label)
    except NoSuchToken:
        raise WrappingKeyError(
            f"no PKCS#11 token labelled {settings.token_label!r} in "
            f"{settings.module}; check LEDGERCRM_PKCS11_TOKEN_LABEL and that the "
            "token is present"
        ) from None
    try:
        return token.open(user_pin=settings.pin, rw=True)
    except UserAlreadyLoggedIn:
        return token.open(rw=True)  # this process logged in already
    except (PinIncorrect, PinInvalid, PinLenRange):
        raise WrappingKeyError(
            f"the PKCS#11 token {settings.token_label!r} refused the PIN; check "
            "LEDGERCRM_PKCS11_PIN"
        ) from None
    except PinLocked:
        raise WrappingKeyError(
            f"the PKCS#11 token {settings.token_label!r} is locked after wrong PINs; "
            "its security officer must unlock it"
        ) from None
