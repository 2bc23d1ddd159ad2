"""Purposes of processing and their notices: administrators define, everyone reads."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api import schemas
from api.auth import ServicesDep, allowed
from api.read_your_writes import AfterPosition, wait_for_read_side
from domain import Actor
from domain.errors import PurposeNotFoundError
from projections import PurposeRow

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
        body.discloses,
    )


@router.get("", response_model=list[schemas.PurposeView])
def list_purposes(
    actor: Reader, services: ServicesDep, after_position: AfterPosition = None
) -> Any:
    """Every purpose with all its notice versions, from the purposes read model."""
    wait_for_read_side(services, after_position, services.purpose_runner)
    return [_view(row) for row in services.purposes.purposes(services.read_models)]


@router.get("/{code}", response_model=schemas.PurposeView)
def get_purpose(
    code: str,
    actor: Reader,
    services: ServicesDep,
    after_position: AfterPosition = None,
) -> Any:
    wait_for_read_side(services, after_position, services.purpose_runner)
    row = services.purposes.purpose(services.read_models, code)
    if row is None:
        raise PurposeNotFoundError(code)
    return _view(row)


@router.post("/{code}/notices", status_code=201, response_model=schemas.NoticePublished)
def publish_notice(
    code: str, body: schemas.NoticeText, actor: Administrator, services: ServicesDep
) -> Any:
    version, written = services.crm.publish_notice(
        actor,
        code,
        body.text_vi,
        body.text_en,
        body.sensitive_statement_vi,
        body.sensitive_statement_en,
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


def _view(row: PurposeRow) -> schemas.PurposeView:
    return schemas.PurposeView(
        code=row.code,
        title_vi=row.title_vi,
        title_en=row.title_en,
        legal_basis=row.legal_basis,
        data_categories=[schemas.DataCategory(**c) for c in row.data_categories],  # type: ignore[arg-type]
        retention_days=row.retention_days,
        sensitive=row.sensitive,
        discloses=row.discloses,
        retired=row.retired,
        notices=[
            schemas.Notice(
                version=n.version,
                text_vi=n.text_vi,
                text_en=n.text_en,
                text_sha256=n.text_sha256,
                declares_sensitive=n.sensitive_statement_vi is not None,
                sensitive_statement_vi=n.sensitive_statement_vi,
                sensitive_statement_en=n.sensitive_statement_en,
                published_at=n.published_at,
            )
            for n in row.notices
        ],
    )
