"""One JSON shape for every error: {"error": {"code", "message", "field"?}}."""

import logging
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.erasure import ErasureNotCompletedError
from crypto_shredding import UndecryptableError
from domain.children import ChildConsentError
from domain.errors import (
    ConsentNotGivenError,
    CustomerNotFoundError,
    DomainError,
    InvalidValueError,
    NoBasisError,
    NoBasisForPurposeError,
    NoticeMismatchError,
    ProcessingRestrictedError,
    PurposeExistsError,
    PurposeNotFoundError,
    PurposeRetiredError,
    SensitiveNoticeRequiredError,
    SensitiveProcessingNotDeclaredError,
    WrongBasisError,
)
from domain.incidents import RecordClosedError, RecordNotFoundError
from domain.residency import CrossBorderTransferError
from domain.subject_requests import RequestNotFoundError, RequestStateError
from ledger import LedgerLookupError
from projections import StorageError

logger = logging.getLogger(__name__)

DOMAIN_STATUS: list[tuple[type[DomainError], int, str]] = [
    (InvalidValueError, 422, "invalid_value"),
    (NoBasisError, 422, "no_legal_basis"),
    (NoticeMismatchError, 422, "notice_mismatch"),
    (WrongBasisError, 422, "wrong_legal_basis"),
    (PurposeNotFoundError, 404, "purpose_not_found"),
    (CustomerNotFoundError, 404, "customer_not_found"),
    (PurposeExistsError, 409, "purpose_exists"),
    (PurposeRetiredError, 409, "purpose_retired"),
    (ConsentNotGivenError, 409, "consent_not_given"),
    (ErasureNotCompletedError, 404, "erasure_not_found"),
    (ProcessingRestrictedError, 403, "processing_restricted"),
    (NoBasisForPurposeError, 403, "no_basis_for_purpose"),
    (RequestNotFoundError, 404, "request_not_found"),
    (RequestStateError, 409, "request_state"),
    (RecordNotFoundError, 404, "record_not_found"),
    (RecordClosedError, 409, "record_closed"),
    (CrossBorderTransferError, 409, "cross_border_transfer_missing"),
    (ChildConsentError, 422, "child_consent_required"),
    (SensitiveNoticeRequiredError, 422, "sensitive_notice_required"),
    (SensitiveProcessingNotDeclaredError, 409, "sensitive_processing_not_declared"),
]


class ApiError(Exception):
    """An error the API answers with directly, in the shared shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, str] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    handlers: list[tuple[type[Exception], Callable[..., Any]]] = [
        (ApiError, _api_error),
        (LedgerLookupError, _not_in_ledger),
        (UndecryptableError, _undecryptable),
        (DomainError, _domain_error),
        (RequestValidationError, _invalid_request),
        (HTTPException, _http_error),
        (StorageError, _unavailable),
        (PersistenceError, _unavailable),
        (Exception, _unexpected),
    ]
    for kind, handler in handlers:
        app.add_exception_handler(kind, handler)


async def _api_error(request: Request, error: ApiError) -> JSONResponse:
    return error_response(
        error.status, error.code, error.message, headers=error.headers
    )


async def _not_in_ledger(request: Request, error: LedgerLookupError) -> JSONResponse:
    return error_response(404, "not_in_ledger", str(error))


async def _undecryptable(request: Request, error: UndecryptableError) -> JSONResponse:
    # The mapper already logged a warning naming the ids; the answer has no detail.
    return error_response(
        500,
        "cannot_be_decrypted",
        "a stored personal value cannot be decrypted; tell the operator",
    )


async def _domain_error(request: Request, error: DomainError) -> JSONResponse:
    for error_type, status, code in DOMAIN_STATUS:
        if isinstance(error, error_type):
            field = getattr(error, "field", None)
            return error_response(status, code, str(error), field=field)
    return error_response(422, "refused", str(error))


async def _invalid_request(
    request: Request, error: RequestValidationError
) -> JSONResponse:
    # Echo where and what, never the submitted value: it may be personal data.
    problems = [
        f"{'.'.join(str(part) for part in e['loc'] if part != 'body')}: {e['msg']}"
        for e in error.errors()
    ]
    return error_response(
        422,
        "invalid_request",
        "the request does not match the API; fix: " + "; ".join(problems),
    )


async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    codes = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}
    return error_response(
        error.status_code,
        codes.get(error.status_code, "http_error"),
        str(error.detail),
        headers=getattr(error, "headers", None),
    )


async def _unavailable(request: Request, error: Exception) -> JSONResponse:
    """A database that does not answer (restart, failover): retry, not a 500."""
    logger.warning(
        "database unavailable on %s %s (%s)",
        request.method,
        request.url.path,
        type(error.__cause__ or error).__name__,
    )
    return error_response(
        503,
        "database_unavailable",
        "the database does not answer right now; retry in a few seconds",
        headers={"Retry-After": "2"},
    )


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    context = getattr(request.state, "context", None)
    logger.error(
        "unexpected error on %s %s (request_id=%s)",
        request.method,
        request.url.path,
        getattr(context, "request_id", "-"),
        exc_info=(type(error), error, None),
    )
    return error_response(
        500, "internal_error", "the server failed; retry later or tell the operator"
    )
