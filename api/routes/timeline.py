"""A customer's timeline: every event concerning them, with actor and time.

Without a purpose it shows event metadata and non-personal values only; naming a
purpose opens the personal values too, for roles that may read them and only
while a basis for that purpose holds, and the read is recorded first.
"""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from api import schemas
from api.auth import ServicesDep, allowed
from api.errors import ApiError
from api.paging import decode_cursor, encode_cursor, only_parameters
from api.read_your_writes import AfterPosition, wait_for_read_side
from api.roles import may
from api.routes.consents import check_customer_visible
from api.routes.customers import (
    check_read_for_purpose,
    open_sealed,
)
from api.wiring import Services
from domain import Actor
from domain.errors import CustomerNotFoundError
from projections import PageMark, TimelineEntry

router = APIRouter(prefix="/v1/customers", tags=["timeline"])
Reader = Annotated[Actor, Depends(allowed("customers:timeline"))]
PARAMETERS = ("purpose", "cursor", "limit", "after_position")


@router.get("/{customer_id}/timeline", response_model=schemas.Timeline)
def customer_timeline(
    customer_id: UUID,
    actor: Reader,
    checked: Annotated[None, Depends(only_parameters(*PARAMETERS))],
    services: ServicesDep,
    purpose: Annotated[
        str | None,
        Query(
            max_length=64,
            description="open personal values for this purpose (sales, dpo)",
        ),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=2_000)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after_position: AfterPosition = None,
) -> Any:
    wait_for_read_side(
        services, after_position, services.runner, services.timeline_runner
    )
    check_customer_visible(services, customer_id, actor)
    mark = decode_cursor(cursor, "position")
    entries = services.timelines.timeline(
        services.read_models,
        customer_id,
        limit=limit + 1,
        after_position=int(mark.value) if mark else 0,
    )
    page = entries[:limit]
    opened = _open_for(services, actor, customer_id, purpose, page)
    next_cursor = None
    if len(entries) > limit:
        last = PageMark(str(page[-1].position), customer_id)
        next_cursor = encode_cursor("position", last)
    return schemas.Timeline(
        customer_id=customer_id,
        purpose=purpose,
        entries=[_view(entry, opened.get(entry.position)) for entry in page],
        next_cursor=next_cursor,
    )


def _open_for(
    services: Services,
    actor: Actor,
    customer_id: UUID,
    purpose: str | None,
    entries: list[TimelineEntry],
) -> dict[int, dict[str, str | None]]:
    """Personal values by position, if `actor` may open them for `purpose`."""
    if purpose is None:
        return {}
    if not may(actor.role, "customers:read-personal"):
        raise ApiError(
            403,
            "forbidden",
            f"role {actor.role!r} sees no personal values; leave out `purpose` to "
            "see the timeline's metadata",
        )
    row = services.customers.customer(services.read_models, customer_id)
    if row is None or row.erased:
        raise CustomerNotFoundError
    check_read_for_purpose(services, actor, row, purpose)
    fields = sorted({_field(e, name) for e in entries for name in e.sealed})
    if fields:
        services.read_log.record(actor, customer_id, purpose, fields)
    return {
        e.position: {name: open_sealed(services, v) for name, v in e.sealed.items()}
        for e in entries
        if e.sealed
    }


def _field(entry: TimelineEntry, name: str) -> str:
    """The field's name as reads are recorded: interaction text is qualified."""
    return f"interaction.{name}" if entry.event_type.startswith("Interaction") else name


def _view(
    entry: TimelineEntry, personal: dict[str, str | None] | None
) -> schemas.TimelineEntryView:
    return schemas.TimelineEntryView(
        position=entry.position,
        event_type=entry.event_type,
        actor=entry.actor,
        recorded_at=entry.recorded_at,
        details=entry.details,
        personal_fields=sorted(entry.sealed),
        personal=personal,
    )
