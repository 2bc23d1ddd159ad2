"""Purposes of processing and their notices: administrators define, everyone reads."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api import schemas
from api.auth import ServicesDep, allowed
from api.read_your_writes import AfterPosition, wait_for_event_store
from domain import Actor, Purpose

router = APIRouter(prefix="/v1/purposes", tags=["purposes"])
Reader = Annotated[Actor, Depends(allowed("purposes:read"))]
Administrator = Annotated[Actor, Depends(allowed("purposes:write"))]


@router.post("", status_code=201, response_model=schemas.Written)
def define_purpose(
    body: schemas.PurposeDefinition, actor: Administrator, services: ServicesDep
) -> Any:
    return services.crm.define_purpose(
        actor,
        body.code,
        body.title_vi,
        body.title_en,
        body.legal_basis,
        [(c.name, c.sensitivity) for c in body.data_categories],
        body.retention_days,
    )


@router.get("", response_model=list[schemas.PurposeView])
def list_purposes(
    actor: Reader, services: ServicesDep, after_position: AfterPosition = None
) -> Any:
    wait_for_event_store(services, after_position)
    return [_view(purpose) for purpose in services.crm.purposes()]


@router.get("/{code}", response_model=schemas.PurposeView)
def get_purpose(
    code: str,
    actor: Reader,
    services: ServicesDep,
    after_position: AfterPosition = None,
) -> Any:
    wait_for_event_store(services, after_position)
    return _view(services.crm.purpose(code))


@router.post("/{code}/notices", status_code=201, response_model=schemas.NoticePublished)
def publish_notice(
    code: str, body: schemas.NoticeText, actor: Administrator, services: ServicesDep
) -> Any:
    version, written = services.crm.publish_notice(
        actor, code, body.text_vi, body.text_en
    )
    notice = services.crm.purpose(code).notice(version)
    assert notice is not None
    return schemas.NoticePublished(
        id=written.id,
        position=written.position,
        version=version,
        text_sha256=notice["text_sha256"],
    )


@router.post("/{code}/retire", response_model=schemas.Written)
def retire_purpose(code: str, actor: Administrator, services: ServicesDep) -> Any:
    return services.crm.retire_purpose(actor, code)


def _view(purpose: Purpose) -> schemas.PurposeView:
    return schemas.PurposeView(
        code=purpose.code,
        title_vi=purpose.title_vi,
        title_en=purpose.title_en,
        legal_basis=purpose.legal_basis,
        data_categories=[schemas.DataCategory(**c) for c in purpose.data_categories],  # type: ignore[arg-type]
        retention_days=purpose.retention_days,
        retired=purpose.retired,
        notices=[schemas.Notice(**n) for n in purpose.notices],
    )
