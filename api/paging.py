"""Opaque page cursors and the check that a query names only known parameters."""

import base64
import binascii
import json
from collections.abc import Callable
from uuid import UUID

from fastapi import Request

from api.errors import ApiError
from projections import PageMark

CURSOR_ADVICE = (
    "pass the next_cursor of the previous page unchanged, with the same sort, or "
    "leave cursor out to start from the first page"
)


def encode_cursor(sort: str, mark: PageMark) -> str:
    """A cursor the client passes back as is; its content is not an interface."""
    document = {"s": sort, "v": mark.value, "i": mark.customer_id.hex}
    raw = json.dumps(document, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None, sort: str) -> PageMark | None:
    """The page mark in `cursor`, or 400 invalid_cursor saying what is expected."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        document = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        mark = PageMark(str(document["v"]), UUID(hex=document["i"]))
        cursor_sort = document["s"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
        raise ApiError(
            400, "invalid_cursor", f"cursor is not valid; {CURSOR_ADVICE}"
        ) from None
    if cursor_sort != sort:
        raise ApiError(
            400,
            "invalid_cursor",
            f"cursor belongs to a list sorted by {cursor_sort!r}, not {sort!r}; "
            + CURSOR_ADVICE,
        )
    return mark


def only_parameters(*known: str) -> Callable[[Request], None]:
    """A dependency refusing query parameters outside `known` with 422."""
    allowed = frozenset(known)

    def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise ApiError(
                422,
                "unknown_filter",
                f"unknown query parameter(s) {', '.join(unknown)}; this endpoint "
                f"takes {', '.join(sorted(allowed))}",
            )

    return check
