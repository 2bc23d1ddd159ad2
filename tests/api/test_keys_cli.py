"""`ledgercrm keys`: rotation, destroying retired versions, shreds after a restore,
and start-up refusing a missing or wrong wrapping key."""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from api.settings import load_settings
from api.wiring import Services, open_services
from crypto_shredding import ERASED, Tombstone, WrappedDataKey
from crypto_shredding.rotation import rewrap_data_keys
from crypto_shredding.wrapping_key import add_wrapping_key_version
from domain import Actor, Customer
from tests.api.test_cli import ledgercrm
from tests.conftest import SoftHsm

DPO = Actor("dpo-1", "dpo")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A SQLite deployment with the demo customers."""
    data_dir = tmp_path / "var"
    initialised = ledgercrm(data_dir, "init", "--demo")
    assert initialised.returncode == 0, initialised.stderr
    return data_dir


def opened(data_dir: Path) -> Iterator[Services]:
    services = open_services(load_settings(data_dir=data_dir, database_url=""))
    try:
        yield services
    finally:
        services.close()


def customer_ids(services: Services) -> list[UUID]:
    registered = services.crm.recorder.select_notifications(
        start=1, limit=10_000, topics=[get_topic(Customer.Registered)]
    )
    return [UUID(str(n.originator_id)) for n in registered]


def stored_events(services: Services) -> list[bytes]:
    return [n.state for n in services.crm.recorder.select_notifications(1, 10_000)]


def key_file_versions(data_dir: Path) -> list[str]:
    return sorted(json.loads((data_dir / "wrapping_key.json").read_text())["keys"])


@pytest.mark.requirement("ENCRYPT-AT-REST")
def test_rotation_rewraps_every_key_and_the_retired_key_can_be_destroyed(
    data_dir: Path,
) -> None:
    for services in opened(data_dir):
        events_before = stored_events(services)

    rotated = ledgercrm(data_dir, "keys", "rotate", "--quiet")
    destroyed = ledgercrm(data_dir, "keys", "destroy-version", "1")

    assert rotated.returncode == 0, rotated.stderr
    assert "created wrapping key version 2" in rotated.stdout
    assert destroyed.returncode == 0, destroyed.stderr
    assert key_file_versions(data_dir) == ["2"]
    for services in opened(data_dir):
        assert services.data_keys.store.wrapping_key_versions().keys() == {2}
        assert stored_events(services) == events_before  # never rewritten
        names = [services.crm.customer(i).full_name for i in customer_ids(services)]
        assert names and all(isinstance(name, str) and name for name in names)


def test_interrupted_rotation_resumes_where_it_stopped(data_dir: Path) -> None:
    add_wrapping_key_version(data_dir / "wrapping_key.json")
    for services in opened(data_dir):
        data_keys = services.data_keys
        data_keys.wrapping_keys = data_keys.wrapping_keys.refreshed()

        def crash(done: int, total: int) -> None:
            raise KeyboardInterrupt  # the operator pressed Ctrl-C after one key

        with pytest.raises(KeyboardInterrupt):
            rewrap_data_keys(
                data_keys.store, data_keys.wrapping_keys, batch_size=1, progress=crash
            )
        assert data_keys.store.wrapping_key_versions()[1] > 0

    refused = ledgercrm(data_dir, "keys", "destroy-version", "1")
    resumed = ledgercrm(data_dir, "keys", "rotate", "--quiet")
    destroyed = ledgercrm(data_dir, "keys", "destroy-version", "1")

    assert refused.returncode == 2 and "keys rotate" in refused.stderr
    assert key_file_versions(data_dir) == ["2"]
    assert "resuming the re-wrap to version 2" in resumed.stdout
    assert destroyed.returncode == 0, destroyed.stderr
    for services in opened(data_dir):
        ids = customer_ids(services)
        assert all(isinstance(services.crm.customer(i).full_name, str) for i in ids)


def test_current_wrapping_key_cannot_be_destroyed(data_dir: Path) -> None:
    refused = ledgercrm(data_dir, "keys", "destroy-version", "1")

    assert refused.returncode == 2
    assert "current one" in refused.stderr
    assert key_file_versions(data_dir) == ["1"]


@pytest.mark.requirement("DSR-ERASE")
def test_restored_key_store_backup_gets_its_shreds_reapplied(data_dir: Path) -> None:
    backup = data_dir.parent / "keys-backup.sqlite3"
    shutil.copy(data_dir / "keys.sqlite3", backup)
    for services in opened(data_dir):
        erased, kept = customer_ids(services)[:2]
        services.crm.erase_customer(DPO, erased, "DSR request 31")
    shutil.copy(backup, data_dir / "keys.sqlite3")  # the restore brings the key back
    for services in opened(data_dir):
        assert isinstance(services.data_keys.store.find(erased), WrappedDataKey)

    reapplied = ledgercrm(data_dir, "keys", "reapply-shreds")
    again = ledgercrm(data_dir, "keys", "reapply-shreds")

    assert reapplied.returncode == 0, reapplied.stderr
    assert "re-applied 1 shreds" in reapplied.stdout
    assert "re-applied 0 shreds" in again.stdout
    for services in opened(data_dir):
        assert isinstance(services.data_keys.store.find(erased), Tombstone)
        assert services.crm.customer(erased).full_name is ERASED
        assert isinstance(services.crm.customer(kept).full_name, str)


def test_start_without_the_wrapping_key_refuses_and_names_the_setting(
    data_dir: Path,
) -> None:
    key_file = data_dir / "wrapping_key.json"
    key_file.rename(data_dir.parent / "elsewhere.json")

    served = ledgercrm(data_dir, "token", "create", "--role", "sales", "--name", "x")
    initialised = ledgercrm(data_dir, "init")

    assert served.returncode == 2
    assert "LEDGERCRM_WRAPPING_KEY_FILE" in served.stderr
    assert initialised.returncode == 2
    assert "never make a new one" in initialised.stderr
    assert not key_file.exists()


def test_start_with_a_wrong_wrapping_key_refuses_and_names_the_setting(
    data_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    assert ledgercrm(other, "init").returncode == 0

    refused = ledgercrm(
        data_dir,
        "token",
        "create",
        "--role",
        "sales",
        "--name",
        "x",
        LEDGERCRM_WRAPPING_KEY_FILE=str(other / "wrapping_key.json"),
    )

    assert refused.returncode == 2
    assert "does not open the stored data keys" in refused.stderr
    assert "LEDGERCRM_WRAPPING_KEY_FILE" in refused.stderr


def hsm_environment(softhsm: SoftHsm, **overrides: str) -> dict[str, str]:
    return {
        "LEDGERCRM_WRAPPING_KEY_BACKEND": "pkcs11",
        "LEDGERCRM_PKCS11_MODULE": str(softhsm.module),
        "LEDGERCRM_PKCS11_TOKEN_LABEL": softhsm.token_label,
        "LEDGERCRM_PKCS11_PIN": softhsm.pin,
        "LEDGERCRM_PKCS11_KEY_LABEL": softhsm.key_label(),
        "SOFTHSM2_CONF": str(softhsm.conf),
        **overrides,
    }


@pytest.mark.requirement("ENCRYPT-AT-REST")
def test_deployment_runs_and_rotates_with_the_wrapping_key_in_an_hsm(
    tmp_path: Path, softhsm: SoftHsm
) -> None:
    data_dir = tmp_path / "var"
    env = hsm_environment(softhsm)

    initialised = ledgercrm(data_dir, "init", "--demo", **env)
    rotated = ledgercrm(data_dir, "keys", "rotate", "--quiet", **env)
    destroyed = ledgercrm(data_dir, "keys", "destroy-version", "1", **env)

    assert initialised.returncode == 0, initialised.stderr
    assert "in PKCS#11 token 'ledgercrm-test'" in initialised.stdout
    assert not (data_dir / "wrapping_key.json").exists()
    assert rotated.returncode == 0 and "version 2" in rotated.stdout, rotated.stderr
    assert destroyed.returncode == 0, destroyed.stderr
    settings = load_settings(
        data_dir=data_dir,
        database_url="",
        wrapping_key_backend="pkcs11",
        pkcs11_module=softhsm.module,
        pkcs11_token_label=softhsm.token_label,
        pkcs11_pin=softhsm.pin,
        pkcs11_key_label=env["LEDGERCRM_PKCS11_KEY_LABEL"],
    )
    services = open_services(settings)
    try:
        assert services.data_keys.wrapping_keys.numbers() == [2]
        ids = customer_ids(services)
        assert ids and all(
            isinstance(services.crm.customer(i).full_name, str) for i in ids
        )
    finally:
        services.close()


def test_wrong_hsm_pin_stops_the_command_and_names_the_setting(
    tmp_path: Path, softhsm: SoftHsm
) -> None:
    env = hsm_environment(
        softhsm,
        LEDGERCRM_PKCS11_TOKEN_LABEL=softhsm.untouched_token_label,
        LEDGERCRM_PKCS11_PIN="0000",
    )

    refused = ledgercrm(tmp_path / "var", "init", **env)

    assert refused.returncode == 2
    assert "LEDGERCRM_PKCS11_PIN" in refused.stderr
    assert "0000" not in refused.stderr
    assert not (tmp_path / "var" / "keys.sqlite3").exists()
