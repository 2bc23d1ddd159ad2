"""Purposes of processing, with their legal basis and versioned notices."""

import hashlib
import json
import uuid
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import PurposeRetiredError

LEGAL_BASES = ("consent", "agreement", "legal-obligation")
SENSITIVITIES = ("basic", "sensitive")
PURPOSE_NAMESPACE = UUID("6f1d3c2e-8a4b-5e7f-9c0d-1a2b3c4d5e6f")


def purpose_id(code: str) -> UUID:
    """A purpose's id follows from its code, so a code can be defined only once."""
    return uuid.uuid5(PURPOSE_NAMESPACE, code)


def notice_sha256(text_vi: str, text_en: str) -> str:
    """SHA-256 of the notice as canonical JSON {"en": ..., "vi": ...} in UTF-8."""
    canonical = json.dumps(
        {"en": text_en, "vi": text_vi},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class Purpose(Aggregate):
    """Why the firm processes personal data, and what it told people about it."""

    class Event(Aggregate.Event):
        actor: str

    class Defined(Event, Aggregate.Created):
        code: str
        title_vi: str
        title_en: str
        legal_basis: str
        data_categories: list[dict[str, str]]
        retention_days: int

    class NoticePublished(Event):
        version: int
        text_vi: str
        text_en: str
        text_sha256: str

        def apply(self, purpose: "Purpose") -> None:
            purpose.notices.append(
                {
                    "version": self.version,
                    "text_vi": self.text_vi,
                    "text_en": self.text_en,
                    "text_sha256": self.text_sha256,
                    "published_at": self.timestamp.isoformat(),
                }
            )

    class Retired(Event):
        def apply(self, purpose: "Purpose") -> None:
            purpose.retired = True
            purpose.__dict__["retired_at"] = self.timestamp  # RETENTION runs from it

    def __init__(
        self,
        code: str,
        title_vi: str,
        title_en: str,
        legal_basis: str,
        data_categories: list[dict[str, str]],
        retention_days: int,
    ) -> None:
        self.code = code
        self.title_vi = title_vi
        self.title_en = title_en
        self.legal_basis = legal_basis
        self.data_categories = list(data_categories)
        self.retention_days = retention_days
        self.notices: list[dict[str, Any]] = []
        self.retired = False

    def publish_notice(self, text_vi: str, text_en: str, actor: str) -> int:
        self.check_active()
        version = len(self.notices) + 1
        self.trigger_event(
            self.NoticePublished,
            version=version,
            text_vi=text_vi,
            text_en=text_en,
            text_sha256=notice_sha256(text_vi, text_en),
            actor=actor,
        )
        return version

    def retire(self, actor: str) -> None:
        self.check_active()
        self.trigger_event(self.Retired, actor=actor)

    def notice(self, version: int) -> dict[str, Any] | None:
        return next((n for n in self.notices if n["version"] == version), None)

    def check_active(self) -> None:
        if self.retired:
            raise PurposeRetiredError(
                f"purpose {self.code!r} is retired and takes no new consent, agreement"
                " or notice; define a new purpose instead"
            )
