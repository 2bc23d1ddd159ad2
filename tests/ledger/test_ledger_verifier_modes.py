"""The offline verifier's modes: checkpoint, consistency, receipt, and its edges."""

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger import (
    ConsistencyProofError,
    LedgerReader,
    LedgerSigner,
    create_signing_key,
    export,
)
from ledger.merkle import EMPTY_ROOT
from ledger.notes import LedgerCheckpoint, NoteSigningKey, encode_base64
from ledger.verify import (
    ConsistencyProofFile,
    main,
    records_shredding,
    verify_checkpoint_consistency,
    verify_ledger_checkpoints,
)
from tests.ledger.ledger_test_support import ORIGIN, LedgerSetup, record_tickets

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Signed:
    """A ledger of 300 events, checkpoints at 40 and 300, files an auditor holds."""

    folder: Path
    signer: LedgerSigner
    vkey: str
    export: Path
    older: Path
    newer: Path
    proof: Path
    receipt: Path

    def write(self, name: str, content: bytes) -> str:
        path = self.folder / name
        path.write_bytes(content)
        return str(path)


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signed]:
    base = tmp_path_factory.mktemp("signed")
    (base / "data").mkdir()
    vkey = create_signing_key(base / "ledger.key", ORIGIN)
    signer = LedgerSigner.from_key_files(base / "ledger.key")
    setup = LedgerSetup(
        "sqlite",
        f"sqlite:///{base / 'data'}",
        base / "data",
        signer,
        base / "ledger.key",
        base / "copy",
    )
    app = setup.application()
    ids = record_tickets(app, 40)
    integrator = setup.integrator(app)
    integrator.run_once()
    (base / "older").write_bytes(base.joinpath("copy").read_bytes())
    record_tickets(app, 260)
    integrator.run_once()
    integrator.sign_ledger_checkpoint()
    (base / "newer").write_bytes(base.joinpath("copy").read_bytes())

    reader = LedgerReader(setup.store())
    hashes = [encode_base64(h) for h in reader.consistency_proof(40, 300)]
    proof = {"first": 40, "second": 300, "hashes": hashes}
    (base / "proof.json").write_text(json.dumps(proof))
    (base / "event.tlog-proof").write_bytes(reader.receipt(ids[7]))
    export(setup.store(), base / "export", event_records=app.recorder, vkeys=[vkey])
    setup.close_all()
    yield Signed(
        base,
        signer,
        vkey,
        base / "export",
        base / "older",
        base / "newer",
        base / "proof.json",
        base / "event.tlog-proof",
    )


def verify(
    capsys: pytest.CaptureFixture[str], *arguments: str
) -> tuple[int, dict[str, object]]:
    status = main(list(arguments))
    return status, json.loads(capsys.readouterr().out)


def failure(report: dict[str, object]) -> dict[str, object]:
    assert report["ok"] is False
    found = report["failure"]
    assert isinstance(found, dict)
    return found


def proof_file(signed: Signed, first: int, second: int, hashes: list[str]) -> str:
    document = {"first": first, "second": second, "hashes": hashes}
    return signed.write("other-proof.json", json.dumps(document).encode())


def served_hashes(signed: Signed) -> list[str]:
    return list(json.loads(signed.proof.read_text())["hashes"])


# Checkpoint mode


def test_checkpoint_mode_reports_origin_size_and_root(
    signed: Signed, capsys: pytest.CaptureFixture[str]
) -> None:
    status, report = verify(
        capsys, "--checkpoint", str(signed.newer), "--vkey", signed.vkey
    )

    assert status == 0
    assert (report["mode"], report["origin"], report["tree_size"]) == (
        "checkpoint",
        ORIGIN,
        300,
    )


def test_signature_lines_of_unknown_keys_are_ignored(
    signed: Signed, capsys: pytest.CaptureFixture[str]
) -> None:
    note = signed.newer.read_bytes()
    witness = NoteSigningKey.generate("witness.example/w1")
    text = note[: note.index(b"\n\n") + 1]
    cosigned = signed.write("cosigned", note + witness.signature_line(text).encode())

    status, _ = verify(capsys, "--checkpoint", cosigned, "--vkey", signed.vkey)
    assert status == 0

    status, report = verify(
        capsys, "--checkpoint", cosigned, "--vkey", str(witness.verifier_key)
    )
    assert status == 1 and failure(report)["check"] == "checkpoint"


def test_checkpoint_without_its_trailing_newline_is_refused(
    signed: Signed, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = signed.write("cut", signed.newer.read_bytes().rstrip(b"\n"))

    status, report = verify(capsys, "--checkpoint", cut, "--vkey", signed.vkey)

    assert status == 1
    assert failure(report)["check"] == "checkpoint"
    assert "newline" in str(failure(report)["message"])


def test_vkey_file_may_hold_several_keys_and_lack_a_final_newline(
    signed: Signed, capsys: pytest.CaptureFixture[str]
) -> None:
    other = str(NoteSigningKey.generate(ORIGIN).verifier_key)
    vkeys = signed.write("vkeys", f"{other}\n\n{signed.vkey}".encode())

    status, report = verify(
        capsys, "--checkpoint", str(signed.older), "--vkey-file", vkeys
    )

    assert (status, report["tree_size"]) == (0, 40)


def test_empty_tree_checkpoint_must_carry_the_empty_root(
    signed: Signed, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = signed.write("empty", signed.signer.sign(0, EMPTY_ROOT).note)
    forged = signed.write("forged", signed.signer.sign(0, bytes(32)).note)

    assert verify(capsys, "--checkpoint", empty, "--vkey", signed.vkey)[0] == 0
    status, report = verify(capsys, "--checkpoint", forged, "--vkey", signed.vkey)
    assert status == 1 and failure(report)["check"] == "root-hash"


# Consistency mode


def test_consistency_mode_joins_two_checkpoints_with_a_served_proof(
    signed: Signed, capsys: pytest.CaptureFixture[str]
) -> None:
    status, report = verify(
        capsys,
        "--consistency",
        str(signed.older),
        str(signed.newer),
        "--proof",
        str(signed.proof),
        "--vkey",
        signed.vkey,
    )

    assert status == 0
    assert (report["mode"], report["first_size"], report["second_size"]) == (
        "consistency",
        40,
        300,
    )
    assert report["proof_hashes"] == len(served_hashes(signed))


def test_consistency_mode_takes_the_proof_from_an_exports_tiles(
    signed: Signed, capsys: pytest.CaptureFixture[str]
) -> None:
    status, report = verify(
        capsys,
        "--consistency",
        str(signed.older),
        str(signed.newer),
        "--tiles",
        str(signed.export),
        "--vkey",
        signed.vkey,
    )

    assert (status, report["proof_from"]) == (0, f"tiles of {signed.export}")


def test_checkpoint_of_a_rewritten_ledger_fails_the_consistency_proof(
    signed: Signed, capsys: pytest.CaptureFixture[str]
) -> None:
    fork = signed.write("fork", signed.signer.sign(300, hashlib.sha256().digest()).note)

    status, report = verify(
        capsys,
        "--consistency",
        str(signed.older),
        fork,
        "--proof",
        str(signed.proof),
        "--vkey",
        signed.vkey,
    )

    assert status == 1
    assert failure(report)["check"] == "consistency-proof"
    assert "new root" in str(failure(report)["message"])


@pytest.mark.parametrize("source", ["--proof", "--tiles"])
def test_checkpoints_given_newest_first_are_refused(
    signed: Signed, capsys: pytest.CaptureFixture[str], source: str
) -> None:
    reversed_proof = proof_file(signed, 300, 40, served_hashes(signed))
    given = reversed_proof if source == "--proof" else str(signed.export)

    status, report = verify(
        capsys,
        "--consistency",
        str(signed.newer),
        str(signed.older),
        source,
        given,
        "--vkey",
        signed.vkey,
    )

    assert status == 1 and "give the older one first" in str(failure(report)["message"])


def test_proof_between_other_sizes_is_refused(
    signed: Signed, capsys: pytest.CaptureFixture[str]
) -> None:
    status, report = verify(
        capsys,
        "--consistency",
        str(signed.older),
        str(signed.newer),
        "--proof",
        proof_file(signed, 41, 300, served_hashes(signed)),
        "--vkey",
        signed.vkey,
    )

    assert status == 1 and "sizes 41 and 300" in str(failure(report)["message"])


def test_equal_sizes_need_an_empty_proof_and_the_same_root(signed: Signed) -> None:
    note = signed.newer.read_bytes()
    empty = ConsistencyProofFile(300, 300, [])
    one_hash = ConsistencyProofFile(300, 300, [bytes(32)])
    forged = signed.signer.sign(300, bytes(32)).note

    report = verify_ledger_checkpoints(note, note, [signed.vkey], empty)

    assert report.proof_hashes == 0
    with pytest.raises(
        ConsistencyProofError, match="equal tree sizes need an empty proof"
    ):
        verify_ledger_checkpoints(note, note, [signed.vkey], one_hash)
    with pytest.raises(ConsistencyProofError, match="different root hashes"):
        verify_ledger_checkpoints(note, forged, [signed.vkey], empty)


def test_every_tree_extends_the_empty_tree_with_an_empty_proof(signed: Signed) -> None:
    empty_tree = signed.signer.sign(0, EMPTY_ROOT).note
    newer = signed.newer.read_bytes()

    verify_ledger_checkpoints(
        empty_tree, newer, [signed.vkey], ConsistencyProofFile(0, 300, [])
    )
    verify_ledger_checkpoints(empty_tree, empty_tree, [signed.vkey], signed.export)
    with pytest.raises(
        ConsistencyProofError, match="from the empty tree must be empty"
    ):
        verify_ledger_checkpoints(
            empty_tree, newer, [signed.vkey], ConsistencyProofFile(0, 300, [EMPTY_ROOT])
        )


def test_a_tree_head_of_size_0_with_another_root_extends_nothing() -> None:
    odd = LedgerCheckpoint(ORIGIN, 0, bytes(32), b"")
    newer = LedgerCheckpoint(ORIGIN, 5, bytes(32), b"")

    with pytest.raises(ConsistencyProofError, match="empty-tree root"):
        verify_checkpoint_consistency(odd, newer, [])


def test_over_long_consistency_proof_is_refused(
    signed: Signed, capsys: pytest.CaptureFixture[str]
) -> None:
    hashes = served_hashes(signed)

    status, report = verify(
        capsys,
        "--consistency",
        str(signed.older),
        str(signed.newer),
        "--proof",
        proof_file(signed, 40, 300, [*hashes, hashes[0]]),
        "--vkey",
        signed.vkey,
    )

    assert status == 1 and failure(report)["check"] == "consistency-proof"
    assert "longer" in str(failure(report)["message"])


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda h: h.rstrip("="), "not base64"),
        (lambda h: h[:-2] + "B=", "not canonical base64"),
        (lambda h: h.replace("=", "") + "\n", "not base64"),
    ],
)
def test_non_canonical_base64_in_a_proof_is_refused(
    signed: Signed, capsys: pytest.CaptureFixture[str], mangle: object, reason: str
) -> None:
    hashes = served_hashes(signed)
    hashes[0] = mangle(hashes[0])  # type: ignore[operator]

    status, report = verify(
        capsys,
        "--consistency",
        str(signed.older),
        str(signed.newer),
        "--proof",
        proof_file(signed, 40, 300, hashes),
        "--vkey",
        signed.vkey,
    )

    assert status == 1 and failure(report)["check"] == "consistency-proof"
    assert reason in str(failure(report)["message"])


@pytest.mark.parametrize(
    "document",
    [b"not json", b"[]", b'{"first": 40, "second": true, "hashes": []}'],
)
def test_malformed_proof_file_is_a_failed_proof(
    signed: Signed, capsys: pytest.CaptureFixture[str], document: bytes
) -> None:
    status, report = verify(
        capsys,
        "--consistency",
        str(signed.older),
        str(signed.newer),
        "--proof",
        signed.write("bad.json", document),
        "--vkey",
        signed.vkey,
    )

    assert status == 1 and failure(report)["check"] == "consistency-proof"


def test_checkpoints_of_different_ledgers_are_not_consistent(
    signed: Signed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other_vkey = create_signing_key(tmp_path / "other.key", "other.example/crm")
    other = LedgerSigner.from_key_files(tmp_path / "other.key")
    note = other.sign(300, hashlib.sha256().digest()).note
    stranger = signed.write("stranger", note)

    status, report = verify(
        capsys,
        "--consistency",
        str(signed.older),
        stranger,
        "--proof",
        str(signed.proof),
        "--vkey",
        signed.vkey,
        "--vkey",
        other_vkey,
    )

    assert status == 1 and failure(report)["check"] == "origin"


def test_export_older_than_the_newer_checkpoint_cannot_supply_the_proof(
    signed: Signed, capsys: pytest.CaptureFixture[str]
) -> None:
    later = signed.write("later", signed.signer.sign(301, bytes(32)).note)

    status, report = verify(
        capsys,
        "--consistency",
        str(signed.older),
        later,
        "--tiles",
        str(signed.export),
        "--vkey",
        signed.vkey,
    )

    assert status == 2 and "ends at tree size 300" in str(report["error"])


# Receipts at their edges


def receipt_lines(signed: Signed) -> list[str]:
    return signed.receipt.read_text().split("\n")


def test_receipt_with_non_canonical_base64_is_refused(
    signed: Signed, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = receipt_lines(signed)
    lines[3] = lines[3][:-2] + "B="

    receipt = signed.write("mangled.tlog-proof", "\n".join(lines).encode())
    status, report = verify(capsys, "--receipt", receipt, "--vkey", signed.vkey)

    assert status == 1 and failure(report)["check"] == "receipt"
    assert "canonical base64" in str(failure(report)["message"])


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda lines: lines.__setitem__(2, "index 300"), "beyond tree size"),
        (lambda lines: lines.insert(4, lines[3]), "longer than the tree"),
        (lambda lines: lines.pop(3), "shorter than the tree"),
    ],
)
def test_receipt_index_beyond_the_tree_or_wrong_proof_length_is_refused(
    signed: Signed, capsys: pytest.CaptureFixture[str], change: object, reason: str
) -> None:
    lines = receipt_lines(signed)
    change(lines)  # type: ignore[operator]

    receipt = signed.write("changed.tlog-proof", "\n".join(lines).encode())
    status, report = verify(capsys, "--receipt", receipt, "--vkey", signed.vkey)

    assert status == 1 and failure(report)["check"] == "inclusion-proof"
    assert reason in str(failure(report)["message"])


# The command itself


def test_main_reads_sys_argv_and_returns_the_exit_status(
    signed: Signed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "ledgercrm-verify",
        "--checkpoint",
        str(signed.older),
        "--vkey",
        signed.vkey,
    ]
    monkeypatch.setattr(sys, "argv", argv)

    status = main()

    assert status == 0 and json.loads(capsys.readouterr().out)["tree_size"] == 40


@pytest.mark.parametrize(
    "arguments",
    [
        [],
        ["EXPORT", "--checkpoint", "FILE"],
        ["--checkpoint", "FILE", "--proof", "FILE"],
        ["--consistency", "OLD", "NEW"],
        ["--consistency", "OLD", "NEW", "--proof", "P", "--tiles", "DIR"],
        ["EXPORT", "--event-state", "FILE"],
    ],
)
def test_a_mix_of_modes_is_misuse_with_status_2(arguments: list[str]) -> None:
    assert main(arguments) == 2


def test_help_returns_status_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "--consistency" in capsys.readouterr().out


def test_missing_export_directory_is_misuse(
    tmp_path: Path, signed: Signed, capsys: pytest.CaptureFixture[str]
) -> None:
    status, report = verify(capsys, str(tmp_path / "absent"), "--vkey", signed.vkey)

    assert status == 2 and "not a directory" in str(report["error"])


def test_checkpoint_and_consistency_modes_need_no_driver_or_framework(
    signed: Signed,
) -> None:
    blocked = ("eventsourcing", "psycopg", "psycopg_pool", "fastapi", "pydantic")
    runs = [
        ["--checkpoint", str(signed.newer), "--vkey", signed.vkey],
        [
            "--consistency",
            str(signed.older),
            str(signed.newer),
            "--tiles",
            str(signed.export),
            "--vkey",
            signed.vkey,
        ],
    ]
    code = (
        f"import json, sys; sys.modules.update(dict.fromkeys({blocked!r})); "
        "from ledger.verify import main; "
        f"sys.exit(max(main(arguments) for arguments in {runs!r}))"
    )

    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.parametrize(
    ("topic", "shredding"),
    [
        ("domain.customer:Customer.DataKeyShredded", True),
        ("tests.app:Subject.DataKeyShredded", True),
        ("tests.app:SubjectDataKeyShredded", True),
        ("domain.customer:Customer.DataKeyShreddedLater", False),
        ("domain.customer:Customer.Registered", False),
    ],
)
def test_shredding_is_recognised_by_the_event_class_name(
    topic: str, shredding: bool
) -> None:
    assert records_shredding(topic) is shredding
