"""The FastAPI application, with the read side and the ledger kept up alongside."""

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from api import retention
from api.errors import install_error_handlers
from api.monitoring import AccessLog, BackgroundWork, Metrics
from api.routes import (
    assessment,
    consents,
    customers,
    docs,
    exports,
    health,
    incidents,
    interactions,
    ledger,
    public,
    purposes,
    replay,
    requests,
    search,
    statistics,
    timeline,
)
from api.security import SecurityOps
from api.wiring import Services
from ledger import IntegratorAlreadyRunning
from projections.postgres_notifications import EventNotifications

logger = logging.getLogger(__name__)
RETENTION_FIRST_DELAY = 60.0


def projection_work(
    services: Services, stop: threading.Event
) -> list[threading.Thread]:
    """The projection runners and, on PostgreSQL, the listener that wakes them."""
    work = [
        threading.Thread(
            target=runner.run, args=(stop,), name=f"projection {runner.read_model.name}"
        )
        for runner in services.runners
    ]
    if services.settings.uses_postgres:
        notifications = EventNotifications(
            services.settings.database_url,
            services.crm.recorder.channel_name,  # type: ignore[attr-defined]
            services.wake_runners_for_others,
        )
        work.append(
            threading.Thread(
                target=notifications.run, args=(stop,), name="the event listener"
            )
        )
    interval = services.settings.retention_interval_hours * 3600
    if interval:  # RETENTION: a first run a minute after start, then each interval
        work.append(
            threading.Thread(
                target=retention.run_periodically,
                args=(services, stop, interval, RETENTION_FIRST_DELAY),
                name="the retention schedule",
            )
        )
    for thread in work:
        thread.daemon = True
    return work


def background_work(
    services: Services, stop: threading.Event, *, projections: bool = True
) -> list[threading.Thread]:
    """The projection runners (unless `projections` is false), the ledger
    integrator unless another process runs one, and on PostgreSQL the listener
    that wakes the runners."""
    work = projection_work(services, stop) if projections else []
    integrator = services.ledger_integrator()
    try:
        integrator.start()  # refuses a ledger that disagrees with its checkpoint
    except IntegratorAlreadyRunning:
        logger.info("another process integrates the ledger; this one serves only")
    else:
        work.append(
            threading.Thread(
                target=integrator.run,
                args=(stop,),
                name="the ledger integrator",
                daemon=True,
            )
        )
    return work


def ledger_self_audit(security: SecurityOps, stop: threading.Event) -> threading.Thread:
    """The scheduled full ledger audit (daily by default)."""
    return threading.Thread(
        target=security.audit_ledger_periodically,
        args=(stop,),
        name="the ledger self-audit",
        daemon=True,
    )


def create_app(services: Services, *, run_background_work: bool = True) -> FastAPI:
    """The API over `services`; it runs the read side and the ledger too unless
    told not to."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Blocking work runs on this many threads (AnyIO's default is 40): fewer
        # contend less for the interpreter's lock (docs/performance.md).
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = services.settings.worker_threads
        stop = threading.Event()
        threads = (
            background_work(
                services, stop, projections=services.settings.serve_projections
            )
            if run_background_work
            else []
        )
        if run_background_work:
            threads.append(ledger_self_audit(security, stop))
        for thread in threads:
            thread.start()
        app.state.background = BackgroundWork({t.name: t for t in threads})
        yield
        stop.set()
        services.wake_runners()

        for thread in threads:
            thread.join(timeout=10)

    app = FastAPI(
        title="LedgerCRM",
        version="0.1.0",
        description="Customers, consents and purposes as signed, append-only events.",
        lifespan=lifespan,
        # Every endpoint is authenticated, the description too (api.routes.health);
        # the docs page is served offline by api.routes.docs.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    metrics = Metrics(services)
    security = SecurityOps(services, metrics)
    app.state.metrics, app.state.security = metrics, security
    app.state.background = BackgroundWork()
    services.crm.observers += [metrics.count_commands, security.observe_reads]
    app.add_middleware(
        AccessLog, metrics=metrics, json_lines=services.settings.access_log_json
    )
    install_error_handlers(app)
    routers = (
        health,
        docs,
        purposes,
        consents,
        exports,
        search,
        customers,
        timeline,
        interactions,
        ledger,
        replay,
        statistics,
    )
    for module in routers:
        app.include_router(module.router)
    for module in (
        requests,
        incidents,
        assessment,
        public,
    ):  # the privacy office's routers
        app.include_router(module.router)
    return app
