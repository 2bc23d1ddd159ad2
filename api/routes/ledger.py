"""The audit ledger for auditors and the data protection officer: signed ledger
checkpoints, entries, tiles and proofs. Entries hold digests, never plaintext."""

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse, Response

from api import schemas
from api.auth import ServicesDep, allowed
from api.read_your_writes import AfterPosition, wait_for_ledger
from domain import Actor
from ledger import LedgerCheckpoint

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])
Auditor = Annotated[Actor, Depends(allowed("ledger:read"))]
MAX_ENTRIES = 1_000


@router.get("/checkpoint", response_class=PlainTextResponse)
def latest_ledger_checkpoint(
    actor: Auditor, services: ServicesDep, after_position: AfterPosition = None
) -> Any:
    """The latest signed ledger checkpoint, a C2SP tlog-checkpoint signed note."""
    wait_for_ledger(services, after_position)
    return PlainTextResponse(services.ledger.latest_ledger_checkpoint().note)


@router.get("/vkey", response_class=PlainTextResponse)
def verifier_keys(actor: Auditor, services: ServicesDep) -> Any:
    """The verifier key(s) of the ledger's signers, one per line."""
    return PlainTextResponse("".join(f"{v}\n" for v in services.signer.vkeys))


@router.get("/entries", response_model=schemas.LedgerEntries)
def entries(
    actor: Auditor,
    services: ServicesDep,
    start: Annotated[int, Query(ge=0, description="first leaf index")],
    stop: Annotated[int, Query(ge=0, description="leaf index after the last")],
    after_position: AfterPosition = None,
) -> Any:
    """Entries [start, stop) of the signed tree, each exactly as hashed."""
    wait_for_ledger(services, after_position)
    stop = min(stop, start + MAX_ENTRIES)
    found = services.ledger.entries(start, stop)
    return schemas.LedgerEntries(start=start, entries=[e.decode() for e in found])


@router.get("/tile/{tile_path:path}", response_class=Response)
def tile(tile_path: str, actor: Auditor, services: ServicesDep) -> Any:
    """A hash tile or entry bundle at its tlog-tiles path, such as tile/0/x001/234."""
    content = services.ledger.tile(f"tile/{tile_path}")
    return Response(content, media_type="application/octet-stream")


@router.get("/proofs/inclusion", response_model=schemas.InclusionProof)
def inclusion_proof(
    actor: Auditor,
    services: ServicesDep,
    notification_id: Annotated[int, Query(ge=1, description="the event's position")],
    tree_size: Annotated[int | None, Query(ge=1)] = None,
    after_position: AfterPosition = None,
) -> Any:
    """The proof that an event's entry is in the tree, with a tlog-proof receipt."""
    wait_for_ledger(services, after_position)
    proof = services.ledger.inclusion_proof(notification_id, tree_size)
    receipt = services.ledger.receipt(notification_id, proof.tree_size)
    return schemas.InclusionProof(
        leaf_index=proof.leaf_index,
        tree_size=proof.tree_size,
        entry=proof.entry.decode(),
        hashes=[_b64(h) for h in proof.hashes],
        ledger_checkpoint=_signed_note(proof.ledger_checkpoint),
        receipt=receipt.decode(),
    )


@router.get("/proofs/consistency", response_model=schemas.ConsistencyProof)
def consistency_proof(
    actor: Auditor,
    services: ServicesDep,
    first: Annotated[int, Query(ge=0, description="the older tree size")],
    second: Annotated[int, Query(ge=0, description="the newer tree size")],
    after_position: AfterPosition = None,
) -> Any:
    """The RFC 9162 proof that the tree at `second` extends the one at `first`."""
    wait_for_ledger(services, after_position)
    hashes = services.ledger.consistency_proof(first, second)
    return schemas.ConsistencyProof(
        first=first, second=second, hashes=[_b64(h) for h in hashes]
    )


def _signed_note(ledger_checkpoint: LedgerCheckpoint | None) -> str:
    assert ledger_checkpoint is not None, "receipt() refuses unsigned sizes first"
    return ledger_checkpoint.note.decode()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
