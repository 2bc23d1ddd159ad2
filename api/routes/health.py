"""Liveness, and the OpenAPI description, for any authenticated caller."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from api import schemas
from api.auth import ServicesDep, allowed
from domain import Actor

router = APIRouter(tags=["health"])


AnyRole = Annotated[Actor, Depends(allowed("health:read"))]


@router.get("/openapi.json", include_in_schema=False)
def openapi(actor: AnyRole, request: Request) -> dict[str, Any]:
    """The OpenAPI description; fetch it with a token, e.g. into an API client."""
    description: dict[str, Any] = request.app.openapi()
    return description


@router.get("/healthz", response_model=schemas.Health)
def health(actor: AnyRole, services: ServicesDep) -> Any:
    return schemas.Health(status="ok", projection_position=services.runner.position())
