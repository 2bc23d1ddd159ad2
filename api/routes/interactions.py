"""Interactions with a customer: logged by sales, read for a purpose with a basis."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from api import schemas
from api.auth import ServicesDep, allowed
from api.read_your_writes import AfterPosition
from api.routes.customers import readable_customer
from domain import Actor

router = APIRouter(
    prefix="/v1/customers/{customer_id}/interactions", tags=["interactions"]
)
Writer = Annotated[Actor, Depends(allowed("interactions:write"))]
Reader = Annotated[Actor, Depends(allowed("interactions:read"))]


@router.post("", status_code=201, response_model=schemas.Written)
def log_interaction(
    customer_id: UUID,
    body: schemas.InteractionEntry,
    actor: Writer,
    services: ServicesDep,
) -> Any:
    return services.crm.log_interaction(
        actor, customer_id, body.kind, body.text, body.occurred_at
    )


@router.get("", response_model=list[schemas.InteractionView])
def list_interactions(
    customer_id: UUID,
    actor: Reader,
    services: ServicesDep,
    purpose: Annotated[str, Query(description="the purpose this read serves")],
    after_position: AfterPosition = None,
) -> Any:
    readable_customer(services, customer_id, purpose, after_position, actor)
    services.read_log.record(actor, customer_id, purpose, ["interaction.text"])
    mapper = services.crm.mapper
    return [
        schemas.InteractionView(
            id=row.interaction_id,
            kind=row.kind,
            text=None if row.text is None else mapper.open_sealed(row.text) or None,  # type: ignore[attr-defined]
            occurred_at=row.occurred_at,
            logged_by=row.logged_by,
        )
        for row in services.customers.interactions_of(services.read_models, customer_id)
    ]
