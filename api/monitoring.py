"""Prometheus metrics, the per-request access log and the readiness report.

Each app has its own registry, so two apps in one process (tests) never mix
their counts. Gauges that describe stored state (lags, checkpoint age, data
keys) are read from the databases when /metrics is scraped.
"""

import json
import logging
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.wiring import SQLITE_KEYS, Services
from crypto_shredding.keyed_hashes import LOOKUP_KEY_SUBJECT

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("api.access")

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_warned_about_data_keys = threading.Event()
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass(frozen=True)
class StoredState:
    """The lags and counts /metrics and /readyz report, read in one go."""

    last_notification_id: int
    projection_positions: dict[str, int]
    ledger_signed_size: int
    ledger_signed_notification_id: int
    ledger_checkpoint_signed_at: datetime | None
    data_keys: dict[str, int] = field(default_factory=dict)

    @property
    def projection_lags(self) -> dict[str, int]:
        return {
            name: max(0, self.last_notification_id - position)
            for name, position in self.projection_positions.items()
        }

    @property
    def ledger_lag(self) -> int:
        """Events recorded but not yet under a signed ledger checkpoint.

        Counted as a difference of notification ids, which PostgreSQL may
        leave gaps in after rolled-back inserts: an upper bound, never less.
        """
        return max(0, self.last_notification_id - self.ledger_signed_notification_id)

    def ledger_checkpoint_age(self, now: datetime) -> float | None:
        signed_at = self.ledger_checkpoint_signed_at
        return None if signed_at is None else (now - signed_at).total_seconds()


def stored_state(services: Services) -> StoredState:
    """Reads the event store, projections, ledger and key store positions."""
    last = services.crm.recorder.max_notification_id() or 0
    positions = {
        runner.read_model.name: runner.position() for runner in services.runners
    }
    store = services.ledger_store
    note = store.latest_ledger_checkpoint()
    signed_size, signed_id = 0, 0
    if note is not None:
        from ledger.notes import read_ledger_checkpoint

        signed_size = read_ledger_checkpoint(note).size
        if signed_size:
            signed_id = store.notification_id_at(signed_size - 1) or 0
    return StoredState(
        last,
        positions,
        signed_size,
        signed_id,
        store.latest_ledger_checkpoint_signed_at() if note is not None else None,
        data_key_counts(services),
    )


def data_key_counts(services: Services) -> dict[str, int]:
    """Data keys ever created and shredded (a shredded key stays as a tombstone)."""
    # The lookup key is held as a data key of a reserved subject: not a person's.
    query = (
        "SELECT count(*), count(shredded_at) FROM {table} "
        "WHERE subject_id <> '{reserved}'"
    )
    try:
        if services.settings.uses_postgres:
            with services.read_models.transaction() as cursor:
                cursor.execute(
                    query.format(
                        table="crypto_shredding.data_keys",
                        reserved=LOOKUP_KEY_SUBJECT,
                    )
                )
                row = cursor.fetchone()
        else:
            path = services.settings.data_dir / SQLITE_KEYS
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
                row = connection.execute(
                    query.format(table="data_keys", reserved=LOOKUP_KEY_SUBJECT.hex)
                ).fetchone()
    except Exception:
        if not _warned_about_data_keys.is_set():  # once, not at every scrape
            _warned_about_data_keys.set()
            logger.warning(
                "cannot count data keys; the metric is left out", exc_info=True
            )
        return {}
    created, shredded = row if row else (0, 0)
    return {"created": int(created), "shredded": int(shredded)}


class StoredStateCollector(Collector):
    """Gauges read at scrape time from the stores."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterable[Metric]:
        state = stored_state(self.services)
        lag = GaugeMetricFamily(
            "ledgercrm_projection_lag_events",
            "events recorded but not yet applied to a projection",
            labels=["projection"],
        )
        for name, events in state.projection_lags.items():
            lag.add_metric([name], events)
        yield lag
        yield GaugeMetricFamily(
            "ledgercrm_ledger_lag_events",
            "events recorded but not yet under a signed ledger checkpoint",
            value=state.ledger_lag,
        )
        yield GaugeMetricFamily(
            "ledgercrm_ledger_tree_size",
            "entries under the latest signed ledger checkpoint",
            value=state.ledger_signed_size,
        )
        age = state.ledger_checkpoint_age(datetime.now(UTC))
        if age is not None:
            yield GaugeMetricFamily(
                "ledgercrm_ledger_checkpoint_age_seconds",
                "seconds since the latest ledger checkpoint was signed",
                value=age,
            )
        keys = GaugeMetricFamily(
            "ledgercrm_data_keys",
            "data keys by state: every key ever created, and those shredded",
            labels=["state"],
        )
        for state_name, count in state.data_keys.items():
            keys.add_metric([state_name], count)
        yield keys
        yield GaugeMetricFamily(
            "ledgercrm_subject_requests_overdue",
            "open data subject requests past their acknowledgment or execution date",
            value=len(overdue_subject_requests(self.services)),
        )


def overdue_subject_requests(services: Services) -> list[Any]:
    """The overdue data subject requests as of today in Vietnam."""
    from api.privacy import privacy_office
    from domain.working_days import vietnam_date

    return privacy_office(services).overdue(vietnam_date(datetime.now(UTC)))


class Metrics:
    """The app's registry and the counters the code increments."""

    def __init__(self, services: Services | None = None) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "ledgercrm_http_requests",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "ledgercrm_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.commands = Counter(
            "ledgercrm_commands",
            "commands recorded by this process, by the type of their first event",
            ["type"],
            registry=registry,
        )
        self.events = Counter(
            "ledgercrm_events_recorded",
            "events recorded by this process, by type",
            ["type"],
            registry=registry,
        )
        self.sign_ins_refused = Counter(
            "ledgercrm_sign_ins_refused",
            "credentials refused, by reason",
            ["reason"],
            registry=registry,
        )
        self.forbidden = Counter(
            "ledgercrm_forbidden_requests",
            "requests refused because the role lacks the permission",
            ["permission"],
            registry=registry,
        )
        self.rate_limited = Counter(
            "ledgercrm_rate_limited_requests",
            "requests refused with 429 by the per-token rate limit",
            registry=registry,
        )
        self.security_alerts = Counter(
            "ledgercrm_security_alerts",
            "security alerts raised, by kind",
            ["kind"],
            registry=registry,
        )
        self.ledger_audits = Counter(
            "ledgercrm_ledger_audits",
            "full ledger self-audits, by result",
            ["result"],
            registry=registry,
        )
        self.ledger_audit_ok = Gauge(
            "ledgercrm_ledger_audit_ok",
            "1 if the last full ledger self-audit passed, 0 if it failed",
            registry=registry,
        )
        self.ledger_audit_finished = Gauge(
            "ledgercrm_ledger_audit_last_run_timestamp_seconds",
            "when the last full ledger self-audit finished (Unix time)",
            registry=registry,
        )
        if services is not None:
            registry.register(StoredStateCollector(services))

    def count_commands(self, recordings: list[Any]) -> None:
        """Counts one command per save, and each event it recorded."""
        if not recordings:
            return
        self.commands.labels(_event_type(recordings[0])).inc()
        for recording in recordings:
            self.events.labels(_event_type(recording)).inc()


def _event_type(recording: Any) -> str:
    event = recording.domain_event
    return ".".join(type(event).__qualname__.split(".")[-2:])


@dataclass
class RequestContext:
    """Filled in while a request is served; the access log writes it out."""

    request_id: str
    actor: str = "-"


class AccessLog:
    """ASGI middleware: request id, metrics and one log line per request.

    The line holds method, route template, status, duration, actor and
    request id: never the raw path, query, headers or body, which may hold
    personal data or credentials.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, *, json_lines: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.json_lines = json_lines

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = RequestContext(_request_id(scope))
        scope.setdefault("state", {})["context"] = context
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", context.request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, status, time.perf_counter() - started, context)

    def _record(
        self, scope: Scope, status: int, seconds: float, context: RequestContext
    ) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope["method"]
        self.metrics.requests.labels(method, route, str(status)).inc()
        self.metrics.latency.labels(method, route).observe(seconds)
        fields = {
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "actor": context.actor,
            "request_id": context.request_id,
        }
        if self.json_lines:
            fields = {"time": datetime.now(UTC).isoformat(), **fields}
            access_logger.info("%s", json.dumps(fields, separators=(",", ":")))
        else:
            access_logger.info(
                "%s %s %d %.2fms actor=%s request_id=%s", *fields.values()
            )


def _request_id(scope: Scope) -> str:
    """The caller's X-Request-ID if it is a plain token, else a new one."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = str(value.decode("latin-1"))
            if REQUEST_ID.fullmatch(text):
                return text
    return uuid.uuid4().hex


def request_context(state: Any) -> RequestContext | None:
    context = getattr(state, "context", None)
    return context if isinstance(context, RequestContext) else None


@dataclass
class BackgroundWork:
    """The threads serve runs beside the API, by name, for /readyz."""

    threads: dict[str, threading.Thread] = field(default_factory=dict)
    integrator_elsewhere: bool = False

    def stopped(self) -> Iterator[str]:
        for name, thread in self.threads.items():
            if not thread.is_alive():
                yield name
