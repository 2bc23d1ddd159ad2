"""The technical annex of the data protection impact assessment (DPIA), built
from the live configuration: purposes, data inventory, roles, measures, stores,
regions, transfers and processors. Never a secret, a URL or a personal value."""

from datetime import UTC, datetime
from typing import Any

from api.privacy import privacy_office
from api.roles import PERMISSIONS
from api.wiring import Services
from domain import ROLES
from domain.customer import PERSONAL_FIELDS

ANNEX_FORMAT = "ledgercrm-dpia-annex/1"
ROLE_SEES = {
    "admin": "purposes and notices; manages access; no customer personal data",
    "sales": "customers' personal fields for a purpose the customer agreed to",
    "manager": "non-personal fields and statistics with small groups suppressed",
    "auditor": "the audit ledger, event metadata and digests; no plaintext",
    "dpo": "requests, erasure, complaints, incidents; any customer for a request",
}
MEASURES = [
    "personal fields sealed per data subject with AES-256-GCM (96-bit nonce per "
    "value; associated data binds subject, event and field) before storage",
    "data keys wrapped by a wrapping key kept outside the database (envelope "
    "encryption); erasure destroys the data key and leaves a tombstone",
    "event tables append-only in the database (triggers refuse UPDATE, DELETE, "
    "TRUNCATE)",
    "every event in an RFC 6962 Merkle tree with Ed25519-signed ledger "
    "checkpoints; inclusion and consistency proofs; an offline verifier",
    "every read of personal data names a purpose, is refused without a basis, "
    "restriction or objection, and is recorded as an event",
    "role-by-endpoint matrix checked by an exhaustive test; bearer tokens stored "
    "as SHA-256 digests and compared in constant time",
    "retention per purpose, erasure by crypto-shredding with certificates",
]
DATA_FLOWS = [
    "staff and the public form -> API (authenticated; the form is rate-limited)",
    "API -> application service -> event store (personal fields sealed)",
    "event store -> projections (read models keep the sealed values)",
    "read models -> purpose-bound reads (opened only for a permitted purpose)",
    "event store -> ledger integrator -> signed ledger checkpoints -> auditors",
]


def dpia_annex(services: Services) -> dict[str, Any]:
    settings = services.settings
    stores = privacy_office(services).store_regions()
    return {
        "format": ANNEX_FORMAT,
        "generated_at": datetime.now(UTC).isoformat(),
        "controller": settings.controller_name,
        "dpo_contact": settings.dpo_contact,
        "purposes": [
            {
                "code": p.code,
                "title_vi": p.title_vi,
                "title_en": p.title_en,
                "legal_basis": p.legal_basis,
                "data_categories": p.data_categories,
                "sensitive": p.sensitive,
                # SENSITIVE-DATA: the person is told by the latest notice.
                "notice_declares_sensitive": bool(
                    (p.latest_notice or {}).get("declares_sensitive")
                ),
                # CHILDREN: from 7 to 15 the child consents too where it discloses.
                "discloses": p.discloses,
                "retention_days": p.retention_days,
                "notice_versions": len(p.notices),
                "retired": p.retired,
            }
            for p in services.crm.purposes()
        ],
        "personal_data": {
            "customer": list(PERSONAL_FIELDS),
            "interaction": ["text"],
            "data_subject_request": ["requester_name", "requester_contact", "details"],
            "complaint": ["complainant_name", "complainant_contact", "summary"],
            "breach_incident": ["form"],
        },
        "roles": [
            {
                "role": role,
                "sees": ROLE_SEES[role],
                "permissions": sorted(p for p, r in PERMISSIONS.items() if role in r),
            }
            for role in ROLES
        ],
        "encryption": {
            "personal_fields": "AES-256-GCM, one data key per data subject",
            "data_keys": "wrapped by the wrapping key (envelope encryption)",
            "wrapping_key": "a key file outside the database, mode 0600",
            "ledger_signing": "Ed25519, origin " + settings.ledger_origin,
            "in_transit": "TLS at the reverse proxy (see the operators' guide)",
        },
        "stores": {
            "database": "postgresql" if settings.uses_postgres else "sqlite",
            "regions": settings.store_regions,
            "recorded_regions": stores.regions if stores else {},
            "transfers": stores.transfers if stores else [],
        },
        "processors": [p.model_dump() for p in settings.processors],
        "measures": MEASURES,
        "data_flows": DATA_FLOWS,
    }


def annex_markdown(annex: dict[str, Any]) -> str:
    """The annex as Markdown: a heading per section, tables for lists of records."""
    lines = [
        "# DPIA technical annex",
        "",
        f"Generated {annex['generated_at']} for {annex['controller']}; "
        f"DPO: {annex['dpo_contact']}.",
    ]
    for key in (
        "purposes",
        "personal_data",
        "roles",
        "encryption",
        "stores",
        "processors",
        "measures",
        "data_flows",
    ):
        lines += ["", f"## {key.replace('_', ' ').capitalize()}", ""]
        lines += _markdown(annex[key])
    return "\n".join(lines) + "\n"


def _markdown(value: Any) -> list[str]:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        columns = list(value[0])
        rows = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        rows += [
            "| " + " | ".join(_cell(r.get(c)) for c in columns) + " |" for r in value
        ]
        return rows
    if isinstance(value, list):
        return [f"- {_cell(v)}" for v in value] or ["(none)"]
    if isinstance(value, dict):
        return [f"- **{k}**: {_cell(v)}" for k, v in value.items()]
    return [_cell(value)]


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_cell(v)}" for k, v in value.items()) or "—"
    return str(value).replace("|", "\\|").replace("\n", " ")
