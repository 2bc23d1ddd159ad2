"""Offline audit rate against plain SHA-256, integrator append rate, audit memory.

Builds a ledger of N synthetic stored events on SQLite with the ledger's own
integrator, exports it, then measures in one run:

- the full audit (`verify_export`: entries, tiles, stored events, root) in
  entries/s and MB/s, in this process alone and in one worker process per
  CPU, against plain `hashlib.sha256` over the same bytes: one
  call per entry, per stored event record and per 64-byte pair of tile hashes,
  on bytes already in memory (no reading, no parsing);
- the integrator's append rate, reading the notification log of a real
  eventsourcing SQLite recorder;
- peak memory of the audit, as the maximum resident size of a separate
  `python -m ledger.verify` process, alone and with `--jobs` (then of any of
  its processes), and, with --tracemalloc, the peak of Python allocations in
  this process.

The audit alone and the references are timed in CPU seconds of this process
(`time.process_time`, fastest of two passes each), so other load on the
machine disturbs the ratios less; the audit in worker processes, the
integrator and the command, by wall clock.
Prints numbers and ratios only; nothing here asserts on speed.

    .venv/bin/python bench/verify.py [--entries 200000] [--tracemalloc]
"""

import argparse
import base64
import hashlib
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from eventsourcing.application import Application
from eventsourcing.persistence import ApplicationRecorder, StoredEvent

from ledger import (
    LedgerIntegrator,
    LedgerSigner,
    SQLiteLedgerStore,
    create_signing_key,
    export,
    verify_export,
)
from ledger.entries import decode_event_bundle
from ledger.export_bundles import default_jobs
from ledger.tiles import decode_entry_bundle

ROOT = Path(__file__).resolve().parents[1]
ORIGIN = "bench.ledgercrm.local/crm"
TOPIC = "bench.subjects:Subject."
EVENTS_PER_SUBJECT = 4
SHREDDED_EVERY = 1000
INSERT_BATCH = 5000
MB = 1_000_000


def synthetic_events(count: int, seed: int = 6962) -> Iterator[StoredEvent]:
    """Stored events shaped like LedgerCRM's: JSON, sealed fields, an actor.

    Each subject has a registration and three notes; every 1,000th subject
    ends with a DataKeyShredded event, as an erased customer does.
    """
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    subject, version = uuid.UUID(int=rng.getrandbits(128)), 0
    for number in range(count):
        if version == EVENTS_PER_SUBJECT:
            subject, version = uuid.UUID(int=rng.getrandbits(128)), 0
        version += 1
        moment = start + timedelta(milliseconds=number)
        yield StoredEvent(subject, version, *_event_body(rng, subject, version, moment))


def _event_body(
    rng: random.Random, subject: uuid.UUID, version: int, moment: datetime
) -> tuple[str, bytes]:
    fields: dict[str, object] = {
        "timestamp": {"_type_": "datetime_iso", "_data_": moment.isoformat()},
        "originator_id": {"_type_": "uuid_hex", "_data_": subject.hex},
        "originator_version": version,
        "actor": "sales:u-17",
    }
    shredded = version == EVENTS_PER_SUBJECT and subject.int % SHREDDED_EVERY == 0
    if shredded:
        fields["data_key_id"] = str(uuid.UUID(int=rng.getrandbits(128)))
        fields["actor"] = "dpo:u-dpo"
        name = "DataKeyShredded"
    else:
        fields["sealed"] = {
            field: base64.b64encode(rng.randbytes(rng.randrange(40, 160))).decode()
            for field in ("full_name", "phone", "email")
        }
        name = "Registered" if version == 1 else "Noted"
    return TOPIC + name, json.dumps(fields, separators=(",", ":")).encode()


def build_event_store(path: Path, count: int) -> Application[uuid.UUID]:
    """An eventsourcing SQLite application holding `count` synthetic events."""
    app: Application[uuid.UUID] = Application(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
    )
    batch: list[StoredEvent] = []
    for stored_event in synthetic_events(count):
        batch.append(stored_event)
        if len(batch) == INSERT_BATCH:
            app.recorder.insert_events(batch)
            batch = []
    if batch:
        app.recorder.insert_events(batch)
    return app


def integrate(
    recorder: ApplicationRecorder, store: SQLiteLedgerStore, signer: LedgerSigner
) -> float:
    """Seconds the integrator takes to take in the whole notification log."""
    integrator = LedgerIntegrator(recorder, store, signer)
    started = time.perf_counter()
    with integrator:
        integrator.run_once()
        integrator.sign_ledger_checkpoint()
    return time.perf_counter() - started


def audited_bytes(directory: Path) -> int:
    """The bytes the audit reads: checkpoint, entry bundles, tiles, events."""
    files = [directory / "checkpoint"]
    files += [p for p in (directory / "tile").rglob("*") if p.is_file()]
    files += [p for p in (directory / "events").rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files)


def reference_seconds(directory: Path, runs: int = 2) -> tuple[float, float, int]:
    """Plain hashlib.sha256 over the audited bytes, one call per record.

    Returns CPU seconds spent hashing alone and CPU seconds when reading and
    splitting the files is counted too, each the fastest of `runs` passes as
    the audit's are, and how many calls a pass makes.
    """
    passes = [_reference_pass(directory) for _ in range(runs)]
    hashing = min(hashing for hashing, _, _ in passes)
    with_reads = min(with_reads for _, with_reads, _ in passes)
    return hashing, with_reads, passes[0][2]


def _reference_pass(directory: Path) -> tuple[float, float, int]:
    sha256 = hashlib.sha256
    hashing, calls = 0.0, 0
    started = time.process_time()
    for path in _record_files(directory):
        records = _records(path.relative_to(directory).parts, path.read_bytes())
        before = time.process_time()
        for record in records:
            sha256(record).digest()
        hashing += time.process_time() - before
        calls += len(records)
    return hashing, time.process_time() - started, calls


def _records(parts: tuple[str, ...], content: bytes) -> list[bytes]:
    if parts[0] == "events":
        return list(decode_event_bundle(content).values())
    if parts[1] == "entries":
        return decode_entry_bundle(content)
    return [content[i : i + 64] for i in range(0, len(content), 64)]


def _record_files(directory: Path) -> Iterator[Path]:
    for folder in ("tile", "events"):
        yield from (p for p in (directory / folder).rglob("*") if p.is_file())


def stream_seconds(directory: Path) -> float:
    """One hashlib.sha256 streamed over every audited file: the hash's ceiling."""
    digest = hashlib.sha256()
    spent = 0.0
    for path in [directory / "checkpoint", *_record_files(directory)]:
        content = path.read_bytes()
        started = time.process_time()
        digest.update(content)
        spent += time.process_time() - started
    return spent


def audit_seconds(directory: Path, vkey: str, runs: int = 2) -> float:
    """CPU seconds of the fastest of `runs` audits in this process alone."""
    fastest = float("inf")
    for _ in range(runs):
        started = time.process_time()
        report = verify_export(directory, [vkey])
        fastest = min(fastest, time.process_time() - started)
    print(
        f"  audit report: tree size {report.tree_size:,}, "
        f"{report.event_records_checked:,} event records, "
        f"{report.tiles_checked:,} tiles, "
        f"{len(report.shredded_subjects):,} shredded subjects"
    )
    return fastest


def parallel_audit_wall(directory: Path, vkey: str, jobs: int, runs: int = 2) -> float:
    """Wall seconds of the fastest of `runs` audits in `jobs` worker processes.

    CPU seconds of this process would leave out the workers' work, so this one
    is timed by the clock; load from other programs slows it down.
    """
    fastest = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        verify_export(directory, [vkey], jobs=jobs)
        fastest = min(fastest, time.perf_counter() - started)
    return fastest


def traced_peak(directory: Path, vkey: str) -> int:
    """Peak bytes of Python allocations during one audit (slows it down)."""
    tracemalloc.start()
    try:
        verify_export(directory, [vkey])
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def command_run(directory: Path, jobs: int = 1) -> tuple[float, int]:
    """Seconds and peak resident bytes of `python -m ledger.verify` in a child.

    The peak is the largest of the child and the workers it waited for.
    """
    arguments = [sys.executable, "-m", "ledger.verify", str(directory)]
    arguments += ["--vkey-file", str(directory / "vkey"), "--jobs", str(jobs)]
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        child = subprocess.Popen(
            arguments, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
        )
        _, status, usage = os.wait4(child.pid, 0)
        spent = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            output.seek(0)
            raise SystemExit(f"the verifier failed:\n{output.read().decode()}")
    return spent, usage.ru_maxrss * 1024


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--entries", type=int, default=200_000, help="ledger size (default 200,000)"
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also trace Python allocations during one more audit",
    )
    parser.add_argument("--workdir", type=Path, help="where to build (default: tmp)")
    return parser.parse_args()


@dataclass
class Figures:
    """What one run measured; seconds are CPU seconds unless named wall."""

    entries: int
    audited_bytes: int
    integrator_wall: float
    audit: float
    jobs: int
    parallel_audit_wall: float
    hashing: float
    hashing_with_reads: float
    hash_calls: int
    streamed: float
    command_wall: float
    command_resident: int
    command_jobs_wall: float
    command_jobs_resident: int
    traced_peak: int | None


def main() -> None:
    arguments = parse_arguments()
    print(
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}; {arguments.entries:,} entries"
    )
    with tempfile.TemporaryDirectory(
        prefix="ledgercrm-bench-verify-", dir=arguments.workdir
    ) as workdir:
        figures = run(Path(workdir), arguments.entries, arguments.tracemalloc)
    print_figures(figures)


def run(workdir: Path, count: int, trace: bool) -> Figures:
    """1. Write synthetic events. 2. Integrate and export. 3. Measure the audit."""
    # 1. The event store, as an application would have written it.
    started = time.perf_counter()
    app = build_event_store(workdir / "events.sqlite3", count)
    print(f"  synthetic event store written in {time.perf_counter() - started:.1f} s")

    # 2. The ledger, by the integrator, and its export with the stored events.
    vkey = create_signing_key(workdir / "ledger.key", ORIGIN)
    signer = LedgerSigner.from_key_files(workdir / "ledger.key")
    store = SQLiteLedgerStore(workdir / "ledger.sqlite3")
    integrated = integrate(app.recorder, store, signer)
    started = time.perf_counter()
    directory = workdir / "export"
    export(store, directory, event_records=app.recorder, vkeys=[vkey])
    store.close()
    app.close()
    size = audited_bytes(directory)
    print(
        f"  export written in {time.perf_counter() - started:.1f} s: "
        f"{size / MB:,.1f} MB to audit"
    )

    # 3. The audit in this process, the references, the command in a child.
    audited = audit_seconds(directory, vkey)
    jobs = default_jobs()
    parallel = parallel_audit_wall(directory, vkey, jobs) if jobs > 1 else audited
    hashing, with_reads, calls = reference_seconds(directory)
    streamed = stream_seconds(directory)
    command, resident = command_run(directory)
    command_jobs, jobs_resident = command_run(directory, jobs)
    traced = traced_peak(directory, vkey) if trace else None
    return Figures(
        count,
        size,
        integrated,
        audited,
        jobs,
        parallel,
        hashing,
        with_reads,
        calls,
        streamed,
        command,
        resident,
        command_jobs,
        jobs_resident,
        traced,
    )


def print_figures(figures: Figures) -> None:
    count, size = figures.entries, figures.audited_bytes

    def rate(seconds: float) -> str:
        return f"{count / seconds:12,.0f} entries/s {size / MB / seconds:8,.1f} MB/s"

    print()
    print(
        f"integrator append rate          {count / figures.integrator_wall:12,.0f}"
        " entries/s (wall clock)"
    )
    print(f"full audit, verify_export       {rate(figures.audit)}")
    print(
        f"  in {figures.jobs} worker processes     "
        f"{rate(figures.parallel_audit_wall)} (wall clock)"
    )
    print(
        f"plain hashlib.sha256 per record {rate(figures.hashing)} "
        f"({figures.hash_calls:,} calls)"
    )
    print(f"  the same, reading the files   {rate(figures.hashing_with_reads)}")
    print(f"one streamed hashlib.sha256     {rate(figures.streamed)}")
    print(
        f"audit / sha256 per record       {figures.hashing / figures.audit:12.1%}"
        "  (one process)"
    )
    print(
        f"audit / sha256 reading files    "
        f"{figures.hashing_with_reads / figures.audit:12.1%}"
    )
    print(f"audit / streamed sha256         {figures.streamed / figures.audit:12.1%}")
    print(
        f"{figures.jobs} processes / sha256 per record "
        f"{figures.hashing / figures.parallel_audit_wall:11.1%}"
        "  (target: at least 50 %)"
    )
    print(
        f"python -m ledger.verify         {count / figures.command_wall:12,.0f}"
        " entries/s (wall clock, with start-up)"
    )
    print(
        f"  its peak resident memory      {figures.command_resident / MB:12,.0f} MB"
        "  (target: at most 256 MB at 1,000,000 entries)"
    )
    print(
        f"  the same with --jobs {figures.jobs}        "
        f"{count / figures.command_jobs_wall:12,.0f} entries/s, peak resident "
        f"{figures.command_jobs_resident / MB:,.0f} MB in any of its processes"
    )
    if figures.traced_peak is not None:
        print(
            f"audit peak Python allocations   {figures.traced_peak / MB:12,.1f} MB"
            " (tracemalloc)"
        )


if __name__ == "__main__":
    main()
