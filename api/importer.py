"""`ledgercrm import customers FILE.csv`: customers, with their consents and
agreements, registered through the application so that every rule applies.

The file is UTF-8 CSV (a byte-order mark is allowed) with a header row. Columns
(see docs/operators.md):

- `full_name` (required); `phone`, `email`, `postal_address`, `date_of_birth`
  (YYYY-MM-DD): personal fields, sealed like any other.
- `stage` (default lead), `owner`, `tags` (separated by `|`), `jurisdiction`
  (default VN).
- `consentN_purpose`, `consentN_notice_version`, `consentN_channel`,
  `consentN_evidence_ref` and optionally `consentN_notice_sha256`, for N = 1, 2,
  ...: a consent to a published notice; without the hash, the published text's
  hash of that version is taken, i.e. the file asserts the customer saw it.
- `agreementN_purpose`, `agreementN_ref`: an agreement covering a purpose.

Empty cells mean "none". A row that breaks a rule is reported with its line
number and reason and nothing of it is stored; the other rows are stored. A file
whose header names an unknown column is refused before anything is stored.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from domain import (
    CRM,
    Actor,
    AgreementCapture,
    ConsentCapture,
    CustomerProfile,
    DomainError,
    PersonalDetails,
    Registration,
    Written,
)

logger = logging.getLogger(__name__)

PERSONAL = ("full_name", "phone", "email", "postal_address", "date_of_birth")
PROFILE = ("stage", "owner", "tags", "jurisdiction")
CONSENT_PARTS = (
    "purpose",
    "notice_version",
    "notice_sha256",
    "channel",
    "evidence_ref",
)
AGREEMENT_PARTS = ("purpose", "ref")
_NUMBERED = re.compile(r"(consent|agreement)([1-9][0-9]*)_(\w+)")


class ImportFileError(Exception):
    """The file cannot be imported at all; nothing was stored."""


class RowError(Exception):
    """One row cannot be imported; the message says why, naming no value."""


@dataclass(frozen=True)
class RefusedRow:
    line: int
    reason: str


@dataclass
class ImportReport:
    imported: int = 0
    refused: list[RefusedRow] = field(default_factory=list)
    position: int = 0  # the last position written: pass it as after_position


def check_file(path: Path) -> int:
    """Reads the whole file once: refuses a bad header or malformed CSV before
    anything is stored; returns how many data rows it holds."""
    _Columns.of(path)
    return sum(1 for _ in _rows(path))


def import_customers(
    crm: CRM,
    actor: Actor,
    path: Path,
    *,
    batch_size: int = 100,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Registers each good row's customer, `batch_size` per transaction."""
    report = ImportReport()
    batch: list[tuple[int, Registration]] = []

    def flush() -> None:
        outcomes = crm.register_customers(actor, [r for _, r in batch])
        for (line, _), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Written):
                report.imported += 1
                report.position = max(report.position, outcome.position)
            else:
                report.refused.append(RefusedRow(line, str(outcome)))
        if progress:
            progress(len(batch))
        batch.clear()

    columns = _Columns.of(path)
    for line, row in _rows(path):
        try:
            if len(row) != len(columns.header) or None in row.values():
                raise RowError(
                    f"the row has a different number of cells than the header "
                    f"({len(columns.header)}); quote cells holding commas"
                )
            batch.append((line, columns.registration(crm, row)))
        except (RowError, DomainError) as error:
            report.refused.append(RefusedRow(line, str(error)))
            if progress:
                progress(1)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    report.refused.sort(key=lambda refused: refused.line)
    logger.info(
        "imported %d customers, refused %d rows", report.imported, len(report.refused)
    )
    return report


@dataclass(frozen=True)
class _Columns:
    header: tuple[str, ...]
    consents: tuple[int, ...]
    agreements: tuple[int, ...]
    notices: dict[tuple[str, int], dict[str, Any]] = field(
        default_factory=dict, compare=False
    )

    @classmethod
    def of(cls, path: Path) -> _Columns:
        try:
            with _open(path) as rows:
                header = next(csv.reader(rows), None)
        except UnicodeDecodeError:
            raise ImportFileError(
                f"{path}: not UTF-8 text; save the file as CSV UTF-8 and try again"
            ) from None
        if not header:
            raise ImportFileError(f"{path}: empty file; expected a header row")
        consents, agreements, unknown = set(), set(), []
        for name in header:
            numbered = _NUMBERED.fullmatch(name)
            if name in PERSONAL or name in PROFILE:
                continue
            if numbered and numbered[1] == "consent" and numbered[3] in CONSENT_PARTS:
                consents.add(int(numbered[2]))
            elif numbered and numbered[3] in AGREEMENT_PARTS:
                agreements.add(int(numbered[2]))
            else:
                unknown.append(name)
        if unknown or "full_name" not in header or len(set(header)) < len(header):
            raise ImportFileError(
                f"{path}: the header must name full_name once and only known "
                f"columns; unknown: {', '.join(map(repr, unknown)) or 'none'}. Known: "
                f"{', '.join(PERSONAL + PROFILE)}, consentN_"
                f"{{{','.join(CONSENT_PARTS)}}}, agreementN_"
                f"{{{','.join(AGREEMENT_PARTS)}}}"
            )
        return cls(tuple(header), tuple(sorted(consents)), tuple(sorted(agreements)))

    def registration(self, crm: CRM, row: dict[str, str]) -> Registration:
        cell = _Cells(row)
        details = PersonalDetails(
            cell.required("full_name"), *(cell.optional(c) for c in PERSONAL[1:])
        )
        tags = [t.strip() for t in (cell.optional("tags") or "").split("|")]
        profile = CustomerProfile(
            stage=cell.optional("stage") or "lead",
            owner=cell.optional("owner") or "",
            tags=[t for t in tags if t],
            jurisdiction=cell.optional("jurisdiction") or "VN",
        )
        consents = [
            self._consent(crm, cell, f"consent{n}_", code)
            for n in self.consents
            if (code := cell.optional(f"consent{n}_purpose"))
        ]
        agreements = [
            AgreementCapture(code, cell.required(f"agreement{n}_ref"))
            for n in self.agreements
            if (code := cell.optional(f"agreement{n}_purpose"))
        ]
        return Registration(details, profile, consents, agreements)

    def _consent(
        self, crm: CRM, cell: _Cells, prefix: str, code: str
    ) -> ConsentCapture:
        version_text = cell.required(prefix + "notice_version")
        if not version_text.isdigit() or int(version_text) < 1:
            raise RowError(f"{prefix}notice_version: must be a whole number from 1")
        version = int(version_text)
        sha256 = cell.optional(prefix + "notice_sha256")
        if sha256 is None:
            notice = self.notices.get((code, version))
            if notice is None:  # published notices never change: look up once
                notice = crm.purpose(code).notice(version)
                if notice is not None:
                    self.notices[(code, version)] = notice
            if notice is None:
                raise RowError(
                    f"{prefix}notice_version: purpose {code!r} has no published "
                    f"notice version {version}; name a published one"
                )
            sha256 = str(notice["text_sha256"])
        return ConsentCapture(
            code,
            version,
            sha256,
            cell.required(prefix + "channel"),
            cell.required(prefix + "evidence_ref"),
        )


class _Cells:
    def __init__(self, row: dict[str, str]) -> None:
        self.row = row

    def optional(self, column: str) -> str | None:
        value = self.row.get(column)
        return value if value and value.strip() else None

    def required(self, column: str) -> str:
        value = self.optional(column)
        if value is None:
            raise RowError(f"{column}: must not be empty")
        return value


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Each data row with the line number it starts on; a row with more cells
    than the header has them under the key "" (fewer: None values)."""
    with _open(path) as rows:
        reader = csv.DictReader(rows, strict=True, restkey="")
        line = 1  # the header's last line
        try:
            for row in reader:
                start, line = line + 1, reader.line_num
                yield start, row
        except csv.Error as error:
            raise ImportFileError(
                f"{path}, line {reader.line_num}: not valid CSV ({error}); "
                "nothing was imported"
            ) from None
        except UnicodeDecodeError:
            raise ImportFileError(
                f"{path}, line {reader.line_num + 1}: not UTF-8 text; save the file "
                "as CSV UTF-8 and try again"
            ) from None


def _open(path: Path) -> TextIO:
    try:
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise ImportFileError(f"cannot read {path}: {error.strerror}") from None
