"""CSV exports of a customer query: non-personal columns for the roles that list
customers; personal columns only with a recipient, an agreement and a basis, and
recorded as an event before the file is sent (NO-SALE)."""

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api import privacy, schemas
from api.auth import ServicesDep, allowed
from api.errors import ApiError
from api.paging import only_parameters
from api.read_your_writes import AfterPosition, wait_for_read_side
from api.routes.customers import (
    DSR_PURPOSE,
    LIST_PARAMETERS,
    check_purpose_open,
    customer_page,
    open_sealed,
)
from domain import Actor, PersonalDataDisclosure
from projections import CustomerRow

router = APIRouter(prefix="/v1/exports", tags=["exports"])
Exporter = Annotated[Actor, Depends(allowed("exports:read"))]
PersonalExporter = Annotated[Actor, Depends(allowed("exports:personal"))]
CSV_TYPE = "text/csv; charset=utf-8"
COLUMNS = (
    "id",
    "stage",
    "owner",
    "tags",
    "jurisdiction",
    "province",
    "consents",
    "registered_at",
    "updated_at",
)
# A cell starting with one of these is a formula to a spreadsheet: neutralise it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@router.get(
    "/customers.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_customers(
    actor: Exporter,
    checked: Annotated[None, Depends(only_parameters(*LIST_PARAMETERS))],
    services: ServicesDep,
    query: Annotated[schemas.ExportQuery, Query()],
    after_position: AfterPosition = None,
) -> Any:
    """The customers a list query matches, as CSV, without personal fields; the
    header `Next-Cursor` carries the cursor of the rest, if any."""
    wait_for_read_side(services, after_position)
    rows, next_cursor = customer_page(services, query)
    headers = {"Next-Cursor": next_cursor} if next_cursor else {}
    content = _csv(COLUMNS, (_plain(r) for r in rows))
    return Response(content, media_type=CSV_TYPE, headers=headers)


@router.post(
    "/customers",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_customers_with_personal_fields(
    body: schemas.PersonalExport, actor: PersonalExporter, services: ServicesDep
) -> Any:
    """NO-SALE: personal fields of the matching customers that have a basis for the
    purpose, for a named recipient under an agreement; recorded before it is sent.
    Customers without a basis for the purpose are left out and counted in the
    header `Excluded-Without-Basis`."""
    if body.purpose == DSR_PURPOSE:
        raise ApiError(
            422,
            "invalid_value",
            "purpose: a data-subject request is answered with the data subject's "
            "own export, not a bulk export; name the purpose of the disclosure",
        )
    check_purpose_open(services, actor, body.purpose)
    if not services.crm.purpose(body.purpose).discloses:
        # CHILDREN: consents to it were taken as not disclosing data.
        raise ApiError(
            409,
            "purpose_does_not_disclose",
            f"purpose {body.purpose!r} is defined as not disclosing data to others, "
            "so its consents were taken on that footing; disclose only under a "
            "purpose defined with discloses: true",
        )
    wait_for_read_side(services, body.after_position)
    rows, next_cursor = customer_page(services, body.query)
    with_basis = [r for r in rows if r.has_basis_for(body.purpose)]
    # DSR-RESTRICT, DSR-OBJECT: a restriction or an objection keeps them out too.
    included = [
        r
        for r in with_basis
        if privacy.may_process(services, r.customer_id, body.purpose)
    ]
    disclosure = PersonalDataDisclosure(
        purpose_code=body.purpose,
        recipient=body.recipient,
        agreement_ref=body.agreement_ref,
        basis=body.basis,
        fields=list(body.fields),
        customer_ids=[r.customer_id for r in included],
    )
    written = services.crm.record_personal_data_export(actor, disclosure)
    headers = {
        "Export-Id": str(written.id),
        "Excluded-Without-Basis": str(len(rows) - len(with_basis)),
        "Excluded-By-Objection-Or-Restriction": str(len(with_basis) - len(included)),
        **({"Next-Cursor": next_cursor} if next_cursor else {}),
    }
    lines = (
        [*_plain(r), *(open_sealed(services, r.sealed[f]) or "" for f in body.fields)]
        for r in included
    )
    content = _csv((*COLUMNS, *body.fields), lines)
    return Response(content, media_type=CSV_TYPE, headers=headers)


def _plain(row: CustomerRow) -> list[str]:
    consents = ";".join(
        f"{code}:{'withdrawn' if c['withdrawn_at'] else 'given'}"
        for code, c in sorted(row.consents.items())
    )
    return [
        str(row.customer_id),
        row.stage,
        row.owner,
        ";".join(row.tags),
        row.jurisdiction,
        row.province,
        consents,
        row.registered_at.isoformat(),
        row.updated_at.isoformat(),
    ]


def _csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_safe(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def _safe(cell: str) -> str:
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell
