"""Residency and the impact assessment: where stores are, the cross-border
transfer records, and the DPIA technical annex built from live configuration."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, PlainTextResponse

from api import dpia, privacy, schemas
from api import privacy_schemas as ps
from api.auth import ServicesDep, allowed
from api.read_your_writes import CaughtUp
from domain import Actor

router = APIRouter(prefix="/v1/dpo", tags=["residency and assessment"])
Officer = Annotated[Actor, Depends(allowed("assessment:manage"))]


@router.get("/stores", response_model=ps.StoresView)
def stores(actor: Officer, services: ServicesDep, caught_up: CaughtUp) -> Any:
    """LOCALISATION: each store's region, as set and as last recorded."""
    recorded = privacy.privacy_office(services).store_regions()
    return ps.StoresView(
        regions=services.settings.store_regions,
        recorded_regions=recorded.regions if recorded else {},
        declared_at=recorded.declared_at if recorded else None,  # type: ignore[arg-type]
        transfers=recorded.transfers if recorded else [],
    )


@router.post("/transfers", status_code=201, response_model=schemas.Written)
def record_transfer(
    body: ps.TransferRecord, actor: Officer, services: ServicesDep
) -> Any:
    """CROSS-BORDER: records the dossier that allows a store abroad."""
    return privacy.privacy_office(services).record_transfer(
        actor, body.store, body.region, body.dossier_ref, body.filed_on
    )


@router.get("/dpia", response_model=None)
def dpia_annex(
    actor: Officer,
    services: ServicesDep,
    caught_up: CaughtUp,
    format: Annotated[Literal["json", "markdown", "html"], Query()] = "json",
) -> Any:
    """DPIA: the technical annex, from the configuration in force right now."""
    annex = dpia.dpia_annex(services)
    if format == "markdown":
        return PlainTextResponse(dpia.annex_markdown(annex), media_type="text/markdown")
    if format == "html":
        return HTMLResponse(privacy.render_html("DPIA technical annex", annex))
    return annex
