"""Liveness, readiness and metrics for monitoring; the OpenAPI description.

/healthz, /readyz and /metrics answer a request from loopback (not relayed by
a proxy), one bearing the configured metrics token, or, for the two health
endpoints, any staff token.
"""

import hmac
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api import schemas
from api.auth import Credentials, SecurityDep, ServicesDep, allowed, authenticated
from api.errors import ApiError
from api.monitoring import BackgroundWork, Metrics, stored_state
from api.wiring import Services
from domain import Actor

router = APIRouter(tags=["health"])
AnyRole = Annotated[Actor, Depends(allowed("health:read"))]
LOOPBACK = frozenset({"127.0.0.1", "::1"})
RELAY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def monitoring_caller(request: Request, credentials: Credentials) -> bool:
    """True for loopback callers and holders of the metrics token."""
    relayed = any(name in request.headers for name in RELAY_HEADERS)
    if request.client and request.client.host in LOOPBACK and not relayed:
        return True
    token = request.app.state.services.settings.metrics_token
    if token is None or credentials is None:
        return False
    expected = token.get_secret_value().encode()
    return hmac.compare_digest(credentials.credentials.encode(), expected)


Monitor = Annotated[bool, Depends(monitoring_caller)]


def health_reader(
    request: Request, monitor: Monitor, security: SecurityDep, credentials: Credentials
) -> None:
    """Monitoring callers, or any staff token (checked, counted, rate-limited)."""
    if not monitor:
        authenticated(request, security, credentials)  # every role may read health


HealthReader = Annotated[None, Depends(health_reader)]


@router.get("/openapi.json", include_in_schema=False)
def openapi(actor: AnyRole, request: Request) -> dict[str, Any]:
    """The OpenAPI description; fetch it with a token, e.g. into an API client."""
    description: dict[str, Any] = request.app.openapi()
    return description


@router.get("/healthz", response_model=schemas.Health)
def health(reader: HealthReader, services: ServicesDep) -> Any:
    """Alive: the process answers and reads its read-model database."""
    return schemas.Health(status="ok", projection_position=services.runner.position())


@router.get(
    "/readyz",
    response_model=schemas.Readiness,
    responses={503: {"model": schemas.Readiness}},
)
def readiness(reader: HealthReader, request: Request, services: ServicesDep) -> Any:
    """Ready: databases reachable, background work running, lags within bounds."""
    problems = readiness_problems(services, request.app.state.background)
    body = schemas.Readiness(status="failing" if problems else "ok", problems=problems)
    return JSONResponse(body.model_dump(), status_code=503 if problems else 200)


@router.get("/metrics", include_in_schema=False)
def metrics_text(request: Request, monitor: Monitor) -> Response:
    """Prometheus text format; loopback or the metrics token only."""
    if not monitor:
        raise ApiError(
            401,
            "unauthenticated",
            "metrics are served on loopback, or to a caller sending the "
            "LEDGERCRM_METRICS_TOKEN as 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    metrics: Metrics = request.app.state.metrics
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def readiness_problems(services: Services, background: BackgroundWork) -> list[str]:
    """Each thing that keeps this process from serving well, said plainly."""
    settings = services.settings
    try:
        state = stored_state(services)
    except Exception as error:
        return [f"a database is unreachable ({type(error).__name__})"]
    problems = [f"{name} is not running" for name in background.stopped()]
    for name, lag in state.projection_lags.items():
        if lag > settings.projection_lag_limit:
            problems.append(
                f"projection {name} lags {lag} events (limit "
                f"{settings.projection_lag_limit})"
            )
    if state.ledger_lag > settings.ledger_lag_limit:
        problems.append(
            f"{state.ledger_lag} events await a signed ledger checkpoint (limit "
            f"{settings.ledger_lag_limit}); is the ledger integrator running?"
        )
    age = state.ledger_checkpoint_age(datetime.now(UTC))
    if state.ledger_lag and age is not None and age > 300:
        problems.append(
            f"the latest ledger checkpoint is {age:.0f} s old while events wait"
        )
    return problems
