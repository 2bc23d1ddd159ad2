"""The FastAPI application, with the projection runner alongside while it serves."""

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.routes import customers, health, interactions, purposes
from api.wiring import Services
from projections.postgres_notifications import EventNotifications

logger = logging.getLogger(__name__)


def background_work(
    services: Services, stop: threading.Event
) -> list[threading.Thread]:
    """The projection runner and, on PostgreSQL, the listener that wakes it."""
    work = [
        threading.Thread(target=services.runner.run, args=(stop,), name="projections")
    ]
    if services.settings.uses_postgres:
        notifications = EventNotifications(
            services.settings.database_url,
            services.crm.recorder.channel_name,  # type: ignore[attr-defined]
            services.runner.news,
        )
        work.append(threading.Thread(target=notifications.run, args=(stop,)))
    for thread in work:
        thread.daemon = True
    return work


def create_app(services: Services, *, run_projections: bool = True) -> FastAPI:
    """The API over `services`; it runs the read side too unless told not to."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        threads = background_work(services, stop) if run_projections else []
        for thread in threads:
            thread.start()
        yield
        stop.set()
        services.runner.news.set()
        for thread in threads:
            thread.join(timeout=10)

    app = FastAPI(
        title="LedgerCRM",
        version="0.1.0",
        description="Customers, consents and purposes as signed, append-only events.",
        lifespan=lifespan,
        # Every endpoint is authenticated, the description too: see api.routes.health.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    install_error_handlers(app)
    for router in (
        health.router,
        purposes.router,
        customers.router,
        interactions.router,
    ):
        app.include_router(router)
    return app
