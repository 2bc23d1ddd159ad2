"""Statistics for managers: counts and rates, small groups suppressed."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api import schemas
from api.auth import ServicesDep, allowed
from api.read_your_writes import AfterPosition, wait_for_read_side
from domain import Actor
from projections.statistics import customer_statistics

router = APIRouter(prefix="/v1/statistics", tags=["statistics"])
Reader = Annotated[Actor, Depends(allowed("statistics:read"))]


@router.get("/customers", response_model=schemas.CustomerStatistics)
def statistics(
    actor: Reader, services: ServicesDep, after_position: AfterPosition = None
) -> Any:
    """AGGREGATES-ONLY: counts by stage, owner and jurisdiction, consent rates per
    purpose and interactions per ISO week; a group smaller than
    LEDGERCRM_STATISTICS_MIN_GROUP has `count` (or `rate`) null."""
    wait_for_read_side(services, after_position)
    return customer_statistics(
        services.read_models, services.customers, services.settings.statistics_min_group
    )
