"""Shared fixtures: a fresh PostgreSQL database per test, and the backend switch."""

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest

if TYPE_CHECKING:
    from api.settings import Settings
    from api.wiring import Services

ADMIN_CONNINFO = os.environ.get(
    "LEDGERCRM_TEST_POSTGRES", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)
SHARED = Path(__file__).resolve().parents[2] / "shared"
TOKEN_PINS = ("--pin", "1234", "--so-pin", "12345678")
SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)


def postgres_is_required() -> bool:
    return os.environ.get("LEDGERCRM_REQUIRE_POSTGRES") == "1"


def _admin_connection() -> psycopg.Connection:
    return psycopg.connect(ADMIN_CONNINFO, autocommit=True, connect_timeout=3)


def _skip_or_fail_without_postgres(error: Exception) -> None:
    reason = f"PostgreSQL is not reachable at {ADMIN_CONNINFO!r}: {error}"
    if postgres_is_required():
        pytest.fail(f"{reason} (LEDGERCRM_REQUIRE_POSTGRES=1 forbids skipping)")
    pytest.skip(reason)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped after the test."""
    try:
        admin = _admin_connection()
    except psycopg.OperationalError as error:
        _skip_or_fail_without_postgres(error)
    name = f"ledgercrm_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Runs a test once on SQLite and once on PostgreSQL."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The database URL for the backend under test: a file or a fresh database."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'data'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def shared_testdata() -> Path:
    """The reference data in ../shared/testdata, or a skip where it is absent."""
    path = SHARED / "testdata"
    if not path.is_dir():
        pytest.skip(f"reference data not found at {path}")
    return path


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> "Settings":
    """Settings for a fresh deployment on the backend under test, key files made."""
    from api.settings import load_settings
    from crypto_shredding import create_wrapping_key_file
    from ledger import create_signing_key

    url = "" if database_url.startswith("sqlite") else database_url
    # Many API tests read right after a write without after_position; with no
    # settling pause the runners apply each event as it comes, as they did
    # before the pause existed. The pause is tested on its own
    # (tests/projections/test_runner_positions.py) and measured by bench/api.py.
    settings = load_settings(
        data_dir=tmp_path / "var", database_url=url, projection_settle_seconds=0
    )
    create_wrapping_key_file(settings.key_file)
    create_signing_key(settings.signing_key_file, settings.ledger_origin)
    return settings


@pytest.fixture
def services(settings: "Settings") -> Iterator["Services"]:
    """The CRM, its key store and read model, opened on the backend under test."""
    from api.wiring import open_services

    opened = open_services(settings)
    try:
        yield opened
    finally:
        opened.close()


@dataclass(frozen=True)
class SoftHsm:
    """A real SoftHSM2 installation with test tokens, made for this test session."""

    module: Path
    conf: Path
    token_dir: Path
    token_label: str
    pin: str
    untouched_token_label: str  # nobody logs in: wrong-PIN tests use it

    def key_label(self) -> str:
        """A fresh key label, so that tests sharing the token never meet."""
        return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    """Two SoftHSM2 tokens in a private folder; skips (or, with
    LEDGERCRM_REQUIRE_HSM=1, fails) where SoftHSM2 is not installed."""
    module = next((Path(m) for m in SOFTHSM_MODULES if Path(m).exists()), None)
    util = shutil.which("softhsm2-util")
    if module is None or util is None:
        reason = "SoftHSM2 is not installed (Debian package softhsm2)"
        if os.environ.get("LEDGERCRM_REQUIRE_HSM") == "1":
            pytest.fail(f"{reason}; LEDGERCRM_REQUIRE_HSM=1 forbids skipping")
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("softhsm")
    token_dir = folder / "tokens"
    token_dir.mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {token_dir}\nobjectstore.backend = file\n"
        "log.level = ERROR\n"
    )
    # The PKCS#11 module reads this once, when this process first loads it.
    os.environ["SOFTHSM2_CONF"] = str(conf)
    for label in ("ledgercrm-test", "ledgercrm-untouched"):
        subprocess.run(
            [util, "--init-token", "--free", "--label", label, *TOKEN_PINS],
            check=True,
            capture_output=True,
            env={**os.environ, "SOFTHSM2_CONF": str(conf)},
        )
    return SoftHsm(
        module, conf, token_dir, "ledgercrm-test", "1234", "ledgercrm-untouched"
    )
