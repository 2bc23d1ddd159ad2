"""Exact-match search for customers by phone, e-mail or name words, by keyed hashes."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api import schemas
from api.auth import ServicesDep, allowed
from api.errors import ApiError
from api.read_your_writes import wait_for_read_side
from api.routes.customers import summary
from domain import Actor

router = APIRouter(prefix="/v1/customers", tags=["customers"])
Searcher = Annotated[Actor, Depends(allowed("customers:search"))]


@router.post("/search", response_model=schemas.CustomerMatches)
def search_customers(
    body: schemas.CustomerSearch, actor: Searcher, services: ServicesDep
) -> Any:
    """Customers whose phone or e-mail equals the one given, or whose full name
    holds every word given; the values are never logged nor stored."""
    given = [v for v in (body.phone, body.email, body.name) if v is not None]
    if len(given) != 1 or not given[0].strip():
        raise ApiError(
            422, "invalid_request", "send exactly one of phone, email or name"
        )
    wait_for_read_side(
        services, body.after_position, services.runner, services.lookup_runner
    )
    found = services.lookups.find(
        services.read_models, phone=body.phone, email=body.email, name=body.name
    )
    rows = [services.customers.customer(services.read_models, i) for i in found]
    return schemas.CustomerMatches(
        customers=[summary(row) for row in rows if row is not None and not row.erased]
    )
