"""The only endpoints without a token: the privacy page and the request form.

The form is rate-limited per client and overall; it answers the same whether or
not the requester is a customer, so it reveals nothing about who is one.
"""

import logging
import threading
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api import privacy
from api import privacy_schemas as ps
from api.auth import ServicesDep
from api.errors import ApiError
from api.privacy_page import TEXT, form_answer, privacy_page
from api.rate_limit import SlidingWindowLimit
from api.read_your_writes import Recorded
from api.wiring import Services
from domain import Actor, DomainError
from domain.privacy_office import RequestIntake

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/public", tags=["public"])
PUBLIC_ACTOR = Actor(user_id="public-form", role="public")
_LIMIT_LOCK = threading.Lock()
MAX_FORM_BYTES = 16_384


@router.get("/privacy", response_class=HTMLResponse)
def privacy_policy(
    services: ServicesDep,
    recorded: Recorded,
    lang: Annotated[Literal["vi", "en"], Query(description="vi or en")] = "vi",
) -> Any:
    """POLICY-PUBLISHED: rights, how to exercise them, deadlines, DPO contact
    (the purposes from the event store, so `after_position` is never waited for:
    one not recorded yet is refused)."""
    return HTMLResponse(privacy_page(services.settings, services.crm.purposes(), lang))


@router.post("/requests", status_code=202, response_model=ps.PublicRequestReceipt)
def submit_request(
    body: ps.PublicRequestIntake, request: Request, services: ServicesDep
) -> Any:
    """A data subject request from the public form; the DPO verifies identity."""
    _admit(request, services)
    return _receive(services, body)


@router.post("/requests/form", status_code=202, response_class=HTMLResponse)
async def submit_request_form(
    request: Request,
    services: ServicesDep,
    lang: Annotated[Literal["vi", "en"], Query()] = "vi",
) -> Any:
    """The same request from the privacy page's HTML form (URL-encoded)."""
    _admit(request, services)
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise ApiError(413, "too_large", "the form is too long; shorten the details")
    fields = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=50)
    try:
        given: dict[str, Any] = {k: v[0] for k, v in fields.items()}
        given["purpose_codes"] = fields.get("purpose_codes", [])
        intake = ps.PublicRequestIntake.model_validate(given)
        receipt = await run_in_threadpool(_receive, services, intake)
    except (ValidationError, DomainError) as error:
        problem = _form_problem(error)
        return HTMLResponse(form_answer(lang, "refused", problem), status_code=422)
    message = TEXT[lang]["receipt"].format(
        id=receipt.request_id, ack=receipt.acknowledge_due, due=receipt.execute_due
    )
    return HTMLResponse(form_answer(lang, "received", message), status_code=202)


def _admit(request: Request, services: Services) -> None:
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


def _receive(
    services: Services, body: ps.PublicRequestIntake
) -> ps.PublicRequestReceipt:
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


def _form_problem(error: Exception) -> str:
    """What to fix, naming fields but never echoing what was typed."""
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
    return str(error)


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
