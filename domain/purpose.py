"""Purposes of processing, with their legal basis and versioned notices.

A purpose says whether it discloses data to others (CHILDREN: from 7 to 15 the
child then consents too), and a purpose covering a sensitive data category
tells the person so in every notice (SENSITIVE-DATA).
"""

import hashlib
import json
import uuid
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import (
    InvalidValueError,
    PurposeRetiredError,
    SensitiveNoticeRequiredError,
    SensitiveProcessingNotDeclaredError,
)

LEGAL_BASES = ("consent", "agreement", "legal-obligation")
SENSITIVITIES = ("basic", "sensitive")
PURPOSE_NAMESPACE = UUID("6f1d3c2e-8a4b-5e7f-9c0d-1a2b3c4d5e6f")


def purpose_id(code: str) -> UUID:
    """A purpose's id follows from its code, so a code can be defined only once."""
    return uuid.uuid5(PURPOSE_NAMESPACE, code)


def notice_sha256(
    text_vi: str,
    text_en: str,
    sensitive_statement_vi: str | None = None,
    sensitive_statement_en: str | None = None,
) -> str:
    """SHA-256 of the notice as canonical JSON {"en": ..., "vi": ...} in UTF-8,
    with "sensitive_statement_en" and "sensitive_statement_vi" where the notice
    declares sensitive processing (so older notices keep their hash)."""
    notice = {"en": text_en, "vi": text_vi}
    if sensitive_statement_vi is not None and sensitive_statement_en is not None:
        notice["sensitive_statement_en"] = sensitive_statement_en
        notice["sensitive_statement_vi"] = sensitive_statement_vi
    canonical = json.dumps(
        notice,
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
        discloses: bool

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Purposes defined before the flag never said: assume the worst.
            state["discloses"] = True

    class NoticePublished(Event):
        version: int
        text_vi: str
        text_en: str
        text_sha256: str
        sensitive_statement_vi: str | None
        sensitive_statement_en: str | None

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["sensitive_statement_vi"] = None
            state["sensitive_statement_en"] = None

        def apply(self, purpose: "Purpose") -> None:
            purpose.notices.append(
                {
                    "version": self.version,
                    "text_vi": self.text_vi,
                    "text_en": self.text_en,
                    "text_sha256": self.text_sha256,
                    "sensitive_statement_vi": self.sensitive_statement_vi,
                    "sensitive_statement_en": self.sensitive_statement_en,
                    "declares_sensitive": self.sensitive_statement_vi is not None,
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
        discloses: bool = True,
    ) -> None:
        self.code = code
        self.title_vi = title_vi
        self.title_en = title_en
        self.legal_basis = legal_basis
        self.data_categories = list(data_categories)
        self.retention_days = retention_days
        self.discloses = discloses
        self.notices: list[dict[str, Any]] = []
        self.retired = False

    @property
    def sensitive_categories(self) -> list[str]:
        """SENSITIVE-DATA: the names of its sensitive data categories (D356 Art 4)."""
        return [
            c["name"] for c in self.data_categories if c["sensitivity"] == "sensitive"
        ]

    @property
    def sensitive(self) -> bool:
        return bool(self.sensitive_categories)

    @property
    def latest_notice(self) -> dict[str, Any] | None:
        return self.notices[-1] if self.notices else None

    def publish_notice(
        self,
        text_vi: str,
        text_en: str,
        actor: str,
        sensitive_statement: tuple[str, str] | None = None,
    ) -> int:
        """Publishes the next notice version; `sensitive_statement` (Vietnamese,
        English) tells the person about sensitive processing, and a purpose with
        a sensitive category takes no notice without it."""
        self.check_active()
        self._check_statement_fits(sensitive_statement)
        statement_vi, statement_en = sensitive_statement or (None, None)
        version = len(self.notices) + 1
        self.trigger_event(
            self.NoticePublished,
            version=version,
            text_vi=text_vi,
            text_en=text_en,
            text_sha256=notice_sha256(text_vi, text_en, statement_vi, statement_en),
            sensitive_statement_vi=statement_vi,
            sensitive_statement_en=statement_en,
            actor=actor,
        )
        return version

    def check_sensitive_processing_declared(
        self, notice: dict[str, Any] | None
    ) -> None:
        """SENSITIVE-DATA: a sensitive purpose takes a consent or an agreement
        only under a notice that tells the person about the sensitive data."""
        if not self.sensitive or (notice and notice["declares_sensitive"]):
            return
        lacking = (
            f"notice version {notice['version']} does not tell the person so"
            if notice
            else "it has no notice telling the person so"
        )
        raise SensitiveProcessingNotDeclaredError(
            f"purpose {self.code!r} covers sensitive data "
            f"({', '.join(self.sensitive_categories)}) but {lacking}; publish a "
            "notice with sensitive_statement_vi and sensitive_statement_en, then "
            "capture the consent or agreement under it"
        )

    def retire(self, actor: str) -> None:
        self.check_active()
        self.trigger_event(self.Retired, actor=actor)

    def notice(self, version: int) -> dict[str, Any] | None:
        return next((n for n in self.notices if n["version"] == version), None)

    def _check_statement_fits(self, statement: tuple[str, str] | None) -> None:
        if self.sensitive and statement is None:
            raise SensitiveNoticeRequiredError(
                f"purpose {self.code!r} covers sensitive data "
                f"({', '.join(self.sensitive_categories)}): its notice must tell the "
                "person; add sensitive_statement_vi and sensitive_statement_en "
                "saying which sensitive data is processed, why, and what it means "
                "for them"
            )
        if not self.sensitive and statement is not None:
            raise InvalidValueError(
                "sensitive_statement_vi",
                f"purpose {self.code!r} covers no sensitive data category; leave "
                "out sensitive_statement_vi and sensitive_statement_en",
            )

    def check_active(self) -> None:
        if self.retired:
            raise PurposeRetiredError(
                f"purpose {self.code!r} is retired and takes no new consent, agreement"
                " or notice; define a new purpose instead"
            )
