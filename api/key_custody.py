"""Where the wrapping keys live, as the settings say: a key file or a PKCS#11 token."""

from api.settings import Settings, SettingsError
from crypto_shredding import (
    WrappingKeyError,
    create_wrapping_key_file,
    load_wrapping_keys,
)
from crypto_shredding.pkcs11_wrapping_key import Pkcs11WrappingKeys, TokenSettings
from crypto_shredding.wrapping_key import (
    WrappingKeys,
    add_wrapping_key_version,
    remove_wrapping_key_version,
)


def open_wrapping_keys(settings: Settings) -> WrappingKeys:
    """The wrapping keys; missing ones raise an error naming the setting."""
    if settings.wrapping_key_backend == "pkcs11":
        return Pkcs11WrappingKeys(token_settings(settings))
    return load_wrapping_keys(settings.key_file)


def wrapping_key_exists(settings: Settings) -> bool:
    if settings.wrapping_key_backend == "pkcs11":
        token = Pkcs11WrappingKeys(token_settings(settings), allow_none=True)
        try:
            return bool(token.numbers())
        finally:
            token.close()
    return settings.key_file.exists()


def create_wrapping_key(settings: Settings) -> str:
    """Creates the first wrapping key; says where it is."""
    if settings.wrapping_key_backend == "pkcs11":
        token = Pkcs11WrappingKeys(token_settings(settings), allow_none=True)
        try:
            token.create_version()
        finally:
            token.close()
        return f"in {token.description}, never leaving it"
    create_wrapping_key_file(settings.key_file)
    return f"{settings.key_file} (mode 0600); back it up"


def add_wrapping_key(settings: Settings, wrapping_keys: WrappingKeys) -> int:
    """Adds the next wrapping key version, which becomes current."""
    if isinstance(wrapping_keys, Pkcs11WrappingKeys):
        return wrapping_keys.create_version()
    return add_wrapping_key_version(settings.key_file).version


def destroy_wrapping_key(
    settings: Settings, wrapping_keys: WrappingKeys, version: int
) -> None:
    if version == wrapping_keys.current.version:
        raise WrappingKeyError(
            f"wrapping key version {version} is the current one; rotate first"
        )
    if isinstance(wrapping_keys, Pkcs11WrappingKeys):
        wrapping_keys.destroy_version(version)
    else:
        remove_wrapping_key_version(settings.key_file, version)


def token_settings(settings: Settings) -> TokenSettings:
    missing = [
        name
        for name, value in (
            ("LEDGERCRM_PKCS11_MODULE", settings.pkcs11_module),
            ("LEDGERCRM_PKCS11_TOKEN_LABEL", settings.pkcs11_token_label),
            ("LEDGERCRM_PKCS11_PIN", settings.pkcs11_pin),
        )
        if not value
    ]
    if missing or settings.pkcs11_module is None or settings.pkcs11_pin is None:
        raise SettingsError(
            "LEDGERCRM_WRAPPING_KEY_BACKEND=pkcs11 needs " + ", ".join(missing)
        )
    return TokenSettings(
        settings.pkcs11_module,
        settings.pkcs11_token_label,
        settings.pkcs11_pin.get_secret_value(),
        settings.pkcs11_key_label,
    )
