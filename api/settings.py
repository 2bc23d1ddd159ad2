"""Settings from LEDGERCRM_* environment variables (and a .env file if present)."""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "LEDGERCRM_"


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable to fix."""


class Processor(BaseModel):
    """A processor acting for the firm, as the impact assessment lists it."""

    name: str
    service: str
    region: str = Field(pattern=r"^[A-Z]{2}$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True
    )

    data_dir: Path = Field(
        Path("var"), description="folder for keys and, on SQLite, the databases"
    )
    database_url: str = Field(
        "", description="empty for SQLite in the data folder, or postgresql://..."
    )
    key_store_url: str = Field(
        "",
        description="on PostgreSQL, the key store's own connection, as a role that "
        "owns schema crypto_shredding only; default: LEDGERCRM_DATABASE_URL",
    )
    wrapping_key_file: Path | None = Field(
        None, description="wrapping key file; default <data_dir>/wrapping_key.json"
    )
    wrapping_key_backend: Literal["file", "pkcs11"] = Field(
        "file",
        description="where the wrapping key lives: a key file, or a PKCS#11 HSM",
    )
    pkcs11_module: Path | None = Field(
        None, description="the HSM's PKCS#11 library, e.g. libsofthsm2.so"
    )
    pkcs11_token_label: str = Field("", description="label of the HSM token")
    pkcs11_pin: SecretStr | None = Field(None, description="user PIN of the token")
    pkcs11_key_label: str = Field(
        "ledgercrm-wrapping-key",
        description="wrapping key objects are labelled <this>-v<version>",
    )
    host: str = Field("127.0.0.1", description="address the API listens on")
    port: int = Field(8000, ge=1, le=65535, description="port the API listens on")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    ledger_origin: str = Field(
        "ledgercrm.local/crm",
        pattern=r"^[a-z0-9.-]+(/[A-Za-z0-9._-]+)*$",
        description="the audit ledger's origin line, like ledger.example.vn/crm",
    )
    ledger_signing_key_file: Path | None = Field(
        None, description="ledger signing key; default <data_dir>/ledger_signing.key"
    )
    ledger_overlap_signing_key_file: Path | None = Field(
        None,
        description="while rotating the signing key: the other key, which signs "
        "too, so that auditors holding either vkey can verify",
    )
    ledger_checkpoint_copy: Path | None = Field(
        None,
        description="a copy of the latest ledger checkpoint, kept apart from the "
        "database; default <data_dir>/ledger_checkpoint.latest",
    )
    statistics_min_group: int = Field(
        5, ge=2, description="statistics hide groups with fewer members than this"
    )
    read_wait_seconds: float = Field(
        5.0, ge=0, le=60, description="longest a read waits for its projection"
    )
    worker_threads: int = Field(
        8,
        ge=2,
        le=200,
        description="threads that run the API's blocking work (database reads and "
        "writes); fewer contend less for the interpreter's lock. At most half of "
        "them wait for the read side (after_position) at once; a read that would "
        "wait beyond that answers 503 with Retry-After",
    )
    projection_settle_seconds: float = Field(
        0.05,
        ge=0,
        le=5,
        description="under a stream of events, each projection runner applies at "
        "most one batch per this many seconds, so that events share transactions; "
        "after a quiet spell it goes at once, and a read passing after_position "
        "hurries it",
    )
    serve_projections: bool = Field(
        True,
        description="`serve` runs the projection runners in-process; set false "
        "when `ledgercrm projections run` runs them apart",
    )
    import_batch_size: int = Field(
        100,
        ge=1,
        le=10_000,
        description="customers `ledgercrm import customers` records per transaction",
    )
    controller_name: str = Field(
        "LedgerCRM operator", description="the firm that controls the personal data"
    )
    dpo_contact: str = Field(
        "dpo@example.vn",
        description="the data protection officer's contact, shown on the privacy page",
    )
    public_intake_per_client_hour: int = Field(
        5, ge=1, description="public request forms one client may send per hour"
    )
    public_intake_per_hour: int = Field(
        200, ge=1, description="public request forms accepted per hour in all"
    )
    event_store_region: str = Field(
        "VN",
        pattern=r"^[A-Z]{2}$",
        description="ISO country code where the event store and read models are",
    )
    key_store_region: str = Field(
        "VN", pattern=r"^[A-Z]{2}$", description="ISO country code of the key store"
    )
    backups_region: str = Field(
        "VN", pattern=r"^[A-Z]{2}$", description="ISO country code of the backups"
    )
    processors: list[Processor] = Field(
        default_factory=list,
        description='processors, as JSON: [{"name", "service", "region"}]',
    )
    retention_interval_hours: float = Field(
        24.0, ge=0, description="how often `serve` runs retention; 0 turns it off"
    )

    # Security operations (issue 7): monitoring, abuse limits, sign-in, TLS, checks.
    metrics_token: SecretStr | None = Field(
        None,
        description="token for /metrics, /healthz and /readyz from other hosts; "
        "without it they answer on loopback only",
    )
    access_log_json: bool = Field(
        False, description="write the per-request access log as JSON lines"
    )
    token_lifetime_days: int = Field(
        90, ge=1, le=3650, description="default lifetime of a new bearer token"
    )
    token_unused_days: int = Field(
        90, ge=1, description="security check flags tokens unused for this long"
    )
    rate_limit_per_minute: int = Field(
        600, ge=1, description="requests one token may make per minute; then 429"
    )
    bulk_read_customers: int = Field(
        200,
        ge=1,
        description="a token reading personal data of more customers than this "
        "within the window raises a security alert",
    )
    bulk_read_window_seconds: int = Field(
        3600, ge=1, description="the window of the bulk-read alert"
    )
    bulk_read_suspends: bool = Field(
        False, description="a bulk-read alert also suspends the token"
    )
    oidc_issuer: str = Field(
        "", description="OpenID Connect issuer whose access tokens are accepted"
    )
    oidc_audience: str = Field("", description="the audience those tokens must name")
    oidc_jwks_file: Path | None = Field(
        None, description="the identity provider's signing keys, as a JWKS file"
    )
    oidc_jwks_url: str = Field(
        "", description="or the JWKS URL (https), fetched and cached"
    )
    oidc_role_claim: str = Field(
        "ledgercrm_role", description="the claim holding the LedgerCRM role"
    )
    oidc_algorithms: list[str] = Field(
        ["RS256", "ES256", "EdDSA"], description="accepted JWT signature algorithms"
    )
    tls_certificate_file: Path | None = Field(
        None, description="serve HTTPS with this certificate chain (PEM)"
    )
    tls_key_file: Path | None = Field(
        None, description="the certificate's private key (PEM, mode 0600)"
    )
    ledger_audit_interval_hours: float = Field(
        24.0, gt=0, description="serve audits the whole ledger this often"
    )
    projection_lag_limit: int = Field(
        1000, ge=0, description="readyz fails when a projection lags more events"
    )
    ledger_lag_limit: int = Field(
        5000, ge=0, description="readyz fails when more events await a signature"
    )
    backup_status_file: Path | None = Field(
        None,
        description="a file the backup job rewrites after each good backup; the "
        "security check wants it younger than backup_max_age_hours",
    )
    backup_max_age_hours: float = Field(
        36.0, gt=0, description="oldest acceptable last backup"
    )

    @field_validator("database_url", "key_store_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "expected empty (SQLite in the data folder) or a postgresql:// URL"
            )
        return value

    @property
    def store_regions(self) -> dict[str, str]:
        """LOCALISATION: each store's declared region."""
        return {
            "backups": self.backups_region,
            "event_store": self.event_store_region,
            "key_store": self.key_store_region,
        }

    @property
    def uses_postgres(self) -> bool:
        return bool(self.database_url)

    @property
    def key_file(self) -> Path:
        return self.wrapping_key_file or self.data_dir / "wrapping_key.json"

    @property
    def signing_key_file(self) -> Path:
        return self.ledger_signing_key_file or self.data_dir / "ledger_signing.key"

    @property
    def checkpoint_copy_file(self) -> Path:
        return self.ledger_checkpoint_copy or self.data_dir / "ledger_checkpoint.latest"

    @property
    def ledger_url(self) -> str:
        """Where the ledger lives: its own SQLite file, or schema `ledger`."""
        return self.database_url or f"sqlite:///{self.data_dir}"


def load_settings(**overrides: object) -> Settings:
    """Reads the settings, or raises SettingsError naming each bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = [_describe(e) for e in error.errors()]
        raise SettingsError("invalid settings:\n  " + "\n  ".join(problems)) from None


def _describe(problem: object) -> str:
    loc, msg = problem["loc"], problem["msg"]  # type: ignore[index]
    name = ENV_PREFIX + "_".join(str(part) for part in loc).upper()
    if name in (
        ENV_PREFIX + "DATABASE_URL",
        ENV_PREFIX + "KEY_STORE_URL",
        ENV_PREFIX + "PKCS11_PIN",
    ):
        return f"{name}: {msg}"  # the URL may hold a password: never echo it
    return f"{name}: {msg} (got {problem.get('input')!r})"  # type: ignore[attr-defined]
