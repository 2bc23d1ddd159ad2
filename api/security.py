"""The API's security operations: sign-in, abuse limits and security events.

One object per app holds what must persist between requests: the rate
limiter, the bulk-read watch, the OIDC verifier and the metrics.
"""

import hashlib
import logging
import threading
import time
from typing import Any
from uuid import UUID

from pydantic import SecretStr

from api.abuse import BulkReadWatch, RateLimiter
from api.access import Principal, SignInRefused
from api.monitoring import Metrics
from api.oidc import OidcVerifier, looks_like_jwt
from api.wiring import Services
from domain.access import PersonalDataAccess, PersonalDataExport
from domain.security import record_security_event
from ledger.self_audit import LedgerAuditResult, audit_ledger
from projections.sql import Dialect

logger = logging.getLogger(__name__)

# Refused sign-ins are recorded as events, but an anonymous flood must not
# fill the append-only store: beyond this many a minute they are only counted.
SIGN_IN_EVENTS_PER_MINUTE = 30
SYSTEM_ACTOR = "system:ledgercrm"
CLI_ACTOR = "admin:ledgercrm-cli"


class SecurityOps:
    def __init__(self, services: Services, metrics: Metrics) -> None:
        settings = services.settings
        self.services = services
        self.metrics = metrics
        self.oidc = OidcVerifier.from_settings(settings)
        self.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
        self.bulk_reads = BulkReadWatch(
            settings.bulk_read_customers, settings.bulk_read_window_seconds
        )
        self._sign_in_events = RateLimiter(SIGN_IN_EVENTS_PER_MINUTE)
        self._unrecorded_sign_ins = 0
        self._lock = threading.Lock()

    def sign_in(self, credential: str | None) -> Principal:
        """The caller's principal, or SignInRefused (recorded, counted)."""
        try:
            if not credential:
                raise SignInRefused("no bearer token")
            if self.oidc is not None and looks_like_jwt(credential):
                principal = self.oidc.check(credential)
                if self.services.access.is_suspended(principal.principal_id):
                    raise SignInRefused(
                        "account suspended; an administrator must reinstate it",
                        principal.principal_id,
                    )
                return principal
            return self.services.access.check(credential)
        except SignInRefused as refused:
            self._refused(refused)
            raise

    def _refused(self, refused: SignInRefused) -> None:
        self.metrics.sign_ins_refused.labels(refused.reason.split(";")[0]).inc()
        if refused.reason == "no bearer token":
            return  # a missing header is a client mistake, not an attempt
        with self._lock:
            if self._sign_in_events.retry_after("all") is not None:
                self._unrecorded_sign_ins += 1
                return
            unrecorded, self._unrecorded_sign_ins = self._unrecorded_sign_ins, 0
        self.record(
            "anonymous:-",
            "sign-in-failed",
            refused.principal_id,
            reason=refused.reason,
            unrecorded_before=unrecorded,
        )

    def retry_after(self, principal: Principal) -> int | None:
        """None if the principal may make another request now."""
        wait = self.rate_limiter.retry_after(principal.principal_id)
        if wait is not None:
            self.metrics.rate_limited.inc()
        return wait

    def forbidden(self, principal: Principal, permission: str) -> None:
        self.metrics.forbidden.labels(permission).inc()
        self.record(
            f"{principal.role}:{principal.principal_id}",
            "access-forbidden",
            principal.principal_id,
            permission=permission,
            role=principal.role,
        )

    def observe_reads(self, recordings: list[Any]) -> None:
        """Feeds recorded reads and exports of personal data to the bulk-read watch.

        Every path that opens personal data records it first, so this sees
        timelines and exports too. A suspension it causes stops the next
        request; `personal_read` refuses the crossing read itself where the
        route names the customer.
        """
        for recording in recordings:
            event = recording.domain_event
            if isinstance(event, PersonalDataAccess.Recorded):
                customers = [event.customer_id]
            elif isinstance(event, PersonalDataExport.Recorded):
                customers = list(event.customer_ids)
            else:
                continue
            role, _, user_id = event.actor.partition(":")
            try:
                principal = Principal(UUID(user_id), "", role)
            except ValueError:
                continue  # not a token or a signed-in person: a command-line actor
            for customer_id in customers:
                self.personal_read(principal, customer_id)

    def personal_read(self, principal: Principal, customer_id: UUID) -> bool:
        """Watches reads of personal data; True if the principal is now suspended."""
        if not self.bulk_reads.read(principal.principal_id, customer_id):
            return False
        settings = self.services.settings
        suspend = settings.bulk_read_suspends
        self.metrics.security_alerts.labels("bulk-read").inc()
        logger.error(
            "bulk-read alert: principal %s read personal data of more than %d "
            "customers within %d s%s",
            principal.principal_id,
            settings.bulk_read_customers,
            settings.bulk_read_window_seconds,
            "; suspended" if suspend else "",
        )
        actor = SYSTEM_ACTOR
        self.record(
            actor,
            "bulk-read-alert",
            principal.principal_id,
            customers=self.bulk_reads.customers_read(principal.principal_id),
            threshold=settings.bulk_read_customers,
            window_seconds=settings.bulk_read_window_seconds,
            role=principal.role,
            suspended=suspend,
        )
        if suspend and self.services.access.suspend(
            principal.principal_id, "bulk-read alert"
        ):
            self.record(
                actor, "token-suspended", principal.principal_id, reason="bulk-read"
            )
        return suspend

    def record(
        self, actor: str, kind: str, principal_id: str = "", **details: Any
    ) -> None:
        record_security_event(self.services.crm, actor, kind, principal_id, **details)

    def run_ledger_audit(self) -> LedgerAuditResult:
        """One full ledger self-audit: recorded as an event, a metric and a log."""
        result = audit_ledger(
            self.services.ledger_store, self.services.signer.verifier_keys
        )
        self.metrics.ledger_audits.labels("pass" if result.ok else "fail").inc()
        self.metrics.ledger_audit_ok.set(1 if result.ok else 0)
        self.metrics.ledger_audit_finished.set(result.finished_at.timestamp())
        self.record(
            SYSTEM_ACTOR,
            "ledger-audit",
            result="pass" if result.ok else "fail",
            tree_size=result.tree_size,
            tiles_checked=result.tiles_checked,
            problem=result.problem,
        )
        return result

    def audit_ledger_periodically(self, stop: threading.Event) -> None:
        """Audits the ledger every `ledger_audit_interval_hours` until `stop`."""
        interval = self.services.settings.ledger_audit_interval_hours * 3600
        logger.info("ledger self-audit scheduled every %.0f s", interval)
        while not stop.wait(interval):
            started = time.monotonic()
            try:
                self.run_ledger_audit()
            except Exception:
                # A database outage is not a failed audit: say so and try later.
                logger.warning("ledger self-audit could not run", exc_info=True)
            logger.debug("ledger self-audit took %.1f s", time.monotonic() - started)


CONFIGURATION_SCHEMA: dict[Dialect, str] = {
    "sqlite": """
        CREATE TABLE IF NOT EXISTS configuration_digests (
            name TEXT PRIMARY KEY,
            sha256 TEXT NOT NULL
        )""",
    "postgres": """
        CREATE SCHEMA IF NOT EXISTS access;
        CREATE TABLE IF NOT EXISTS access.configuration_digests (
            name text PRIMARY KEY,
            sha256 text NOT NULL
        )""",
}
# Settings whose values may hold credentials: events name them, never show them.
SECRET_SETTINGS = frozenset({"database_url", "metrics_token"})


def record_configuration(services: Services, actor: str = SYSTEM_ACTOR) -> list[str]:
    """Records a configuration-changed event when settings differ from last time.

    Digests of the settings are kept beside the access tokens; the event names
    each changed setting, with its new value unless it may hold a credential.
    Returns the names of the changed settings.
    """
    database = services.access.database
    database.create(CONFIGURATION_SCHEMA)
    table = (
        "access.configuration_digests"
        if database.dialect == "postgres"
        else "configuration_digests"
    )
    current = _setting_texts(services)
    with database.transaction() as cursor:
        cursor.execute(f"SELECT name, sha256 FROM {table}")
        stored = dict(cursor.fetchall())
        changed = sorted(
            name for name, text in current.items() if stored.get(name) != _sha(text)
        )
        for name in changed:
            cursor.execute(f"DELETE FROM {table} WHERE name = %s", (name,))
            cursor.execute(
                f"INSERT INTO {table} (name, sha256) VALUES (%s, %s)",
                (name, _sha(current[name])),
            )
    if changed:
        shown = {n: current[n] for n in changed if n not in SECRET_SETTINGS}
        record_security_event(
            services.crm,
            actor,
            "configuration-changed",
            settings=changed,
            first_start=not stored,
            values=shown,
        )
        logger.info("configuration changed: %s", ", ".join(changed))
    return changed


def _setting_texts(services: Services) -> dict[str, str]:
    texts = {}
    for name, value in services.settings.model_dump().items():
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        texts[name] = "" if value is None else str(value)
    return texts


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
