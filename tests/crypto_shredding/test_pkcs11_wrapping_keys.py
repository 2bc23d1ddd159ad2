"""Wrapping keys in a PKCS#11 token (a real SoftHSM2 token): they never leave it;
a missing token or a wrong PIN is a clear error that changes nothing."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pkcs11 import Attribute

from crypto_shredding import DataKeys, KeyStore, WrappingKeyError
from crypto_shredding.pkcs11_wrapping_key import Pkcs11WrappingKeys, TokenSettings
from crypto_shredding.rotation import rewrap_data_keys
from tests.conftest import SoftHsm


@pytest.fixture
def token(softhsm: SoftHsm) -> Iterator[Pkcs11WrappingKeys]:
    wrapping_keys = Pkcs11WrappingKeys(
        TokenSettings(
            softhsm.module, softhsm.token_label, softhsm.pin, softhsm.key_label()
        ),
        allow_none=True,
    )
    wrapping_keys.create_version()
    yield wrapping_keys
    wrapping_keys.close()


def token_files(softhsm: SoftHsm) -> set[str]:
    """SoftHSM2 keeps each key object in a file of its own: a key made or destroyed
    shows here. (The token's own record may change: it counts failed logins.)"""
    return {
        str(path)
        for path in softhsm.token_dir.rglob("*.object")
        if path.name != "token.object"
    }


def test_wrapping_key_is_sensitive_and_never_extractable(
    token: Pkcs11WrappingKeys,
) -> None:
    key = token.current._key

    assert key[Attribute.SENSITIVE] is True
    assert key[Attribute.EXTRACTABLE] is False
    assert key[Attribute.TOKEN] is True


def test_rotation_in_the_token_keeps_every_data_key_readable(
    token: Pkcs11WrappingKeys, sqlite_key_store: KeyStore
) -> None:
    data_keys = DataKeys(sqlite_key_store, token)
    subjects = [uuid.uuid4() for _ in range(5)]
    originals = [data_keys.for_writing(s) for s in subjects]

    token.create_version()
    rewrapped = rewrap_data_keys(sqlite_key_store, token)
    token.destroy_version(1)

    assert rewrapped == 5
    assert token.numbers() == [2]
    fresh = DataKeys(sqlite_key_store, token)
    assert [fresh.for_reading(s) for s in subjects] == originals


def test_missing_token_is_a_clear_error_that_changes_nothing(
    softhsm: SoftHsm,
) -> None:
    before = token_files(softhsm)

    with pytest.raises(WrappingKeyError) as refused:
        Pkcs11WrappingKeys(
            TokenSettings(softhsm.module, "no-such-token", softhsm.pin),
            allow_none=True,
        )

    assert "no PKCS#11 token labelled 'no-such-token'" in str(refused.value)
    assert "LEDGERCRM_PKCS11_TOKEN_LABEL" in str(refused.value)
    assert token_files(softhsm) == before


def test_wrong_pin_is_a_clear_error_that_changes_nothing(softhsm: SoftHsm) -> None:
    before = token_files(softhsm)

    with pytest.raises(WrappingKeyError) as refused:
        Pkcs11WrappingKeys(
            TokenSettings(softhsm.module, softhsm.untouched_token_label, "9999"),
            allow_none=True,
        )

    assert "refused the PIN" in str(refused.value)
    assert "LEDGERCRM_PKCS11_PIN" in str(refused.value)
    assert "9999" not in str(refused.value)
    assert token_files(softhsm) == before


def test_missing_module_names_the_setting(tmp_path: Path, softhsm: SoftHsm) -> None:
    with pytest.raises(WrappingKeyError, match="LEDGERCRM_PKCS11_MODULE"):
        Pkcs11WrappingKeys(
            TokenSettings(tmp_path / "absent.so", softhsm.token_label, softhsm.pin)
        )


def test_token_without_wrapping_key_says_to_run_init(softhsm: SoftHsm) -> None:
    settings = TokenSettings(
        softhsm.module, softhsm.token_label, softhsm.pin, softhsm.key_label()
    )

    with pytest.raises(WrappingKeyError, match="ledgercrm init"):
        Pkcs11WrappingKeys(settings)
