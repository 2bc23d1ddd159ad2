"""The only endpoints without a token: the privacy page and the request form.

The form is rate-limited per client and overall; it answers the same whether or
not the requester is a customer, so it reveals nothing about who is one.
"""

import logging
import threading
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api import privacy
from api import privacy_schemas as ps
from api.auth import ServicesDep
from api.errors import ApiError
from api.privacy_page import privacy_page
from api.rate_limit import SlidingWindowLimit
from api.wiring import Services
from domain import Actor
from domain.privacy_office import RequestIntake

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/public", tags=["public"])
PUBLIC_ACTOR = Actor(user_id="public-form", role="public")
_LIMIT_LOCK = threading.Lock()


@router.get("/privacy", response_class=HTMLResponse)
def privacy_policy(
    services: ServicesDep,
    lang: Annotated[Literal["vi", "en"], Query(description="vi or en")] = "vi",
) -> Any:
    """POLICY-PUBLISHED: rights, how to exercise them, deadlines, DPO contact."""
    return HTMLResponse(privacy_page(services.settings, services.crm.purposes(), lang))


@router.post("/requests", status_code=202, response_model=ps.PublicRequestReceipt)
def submit_request(
    body: ps.PublicRequestIntake, request: Request, services: ServicesDep
) -> Any:
    """A data subject request from the public form; the DPO verifies identity."""
    client = request.client.host if request.client else "unknown"
    wait = _limit(request, services).admit(client)
    if wait:
        raise ApiError(
            429,
            "too_many_requests",
            "too many requests from this address; retry later or write to the "
            "data protection officer",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    intake = RequestIntake(
        kind=body.kind,
        channel="public-form",
        requester_name=body.requester_name,
        requester_contact=body.requester_contact,
        purpose_codes=body.purpose_codes,
        details=body.details,
    )
    office = privacy.privacy_office(services)
    written = office.receive_request(PUBLIC_ACTOR, intake)
    received = office.request(written.id)
    logger.info("public request %s received (%s)", written.id, received.kind)
    return ps.PublicRequestReceipt(
        request_id=written.id,
        acknowledge_due=received.acknowledge_due,
        execute_due=received.execute_due,
        message="received; the data protection officer will contact you to "
        "verify your identity",
    )


def _limit(request: Request, services: Services) -> SlidingWindowLimit:
    with _LIMIT_LOCK:
        return _app_limit(request, services)


def _app_limit(request: Request, services: Services) -> SlidingWindowLimit:
    limit: SlidingWindowLimit | None = getattr(request.app.state, "public_limit", None)
    if limit is None:
        settings = services.settings
        limit = SlidingWindowLimit(
            settings.public_intake_per_client_hour,
            settings.public_intake_per_hour,
            window=3600.0,
        )
        request.app.state.public_limit = limit
    return limit
