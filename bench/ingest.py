"""Customers ingested per second: LedgerCRM, plain eventsourcing and the raw driver."""

import argparse
import json
import os
import platform
import queue
import random
import sqlite3
import statistics
import tempfile
import threading
import time
import traceback
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from api.settings import Settings, load_settings
from api.wiring import Services, event_store_env, open_services
from crypto_shredding import create_wrapping_key_file
from domain import (
    CRM,
    Actor,
    ConsentCapture,
    CustomerProfile,
    PersonalDetails,
    notice_sha256,
)
from ledger import create_signing_key

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
WARM_UP = 40
ROUNDS = 5
RAW_STATE_BYTES = 600
ACTOR = Actor(user_id="bench-sales-01", role="sales")
PROFILE = CustomerProfile(stage="lead", owner="Nguyễn Thu Hà", tags=["hội chợ 2025"])
PURPOSE_CODE = "marketing-email"
NOTICE_VI = (
    "Chúng tôi dùng họ tên, số điện thoại và e-mail của quý khách để gửi thông tin "
    "khuyến mãi. Quý khách có thể rút lại sự đồng ý bất cứ lúc nào."
)
NOTICE_EN = (
    "We use your name, phone number and e-mail to send you offers. You may "
    "withdraw your consent at any time."
)
NOTICE_SHA256 = notice_sha256(NOTICE_VI, NOTICE_EN)

FAMILY_NAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi")
MIDDLE_NAMES = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Thu")
GIVEN_NAMES = ("An", "Bình", "Châu", "Dũng", "Hà", "Hạnh", "Hương", "Khánh", "Linh")
STREETS = (
    "Phố Huế",
    "Lê Lợi",
    "Trần Hưng Đạo",
    "Nguyễn Trãi",
    "Hai Bà Trưng",
    "Lý Thường Kiệt",
    "Điện Biên Phủ",
    "Võ Văn Tần",
    "Bạch Đằng",
)
CITIES = (
    "Quận 1, TP. Hồ Chí Minh",
    "Quận 3, TP. Hồ Chí Minh",
    "Quận Hoàn Kiếm, Hà Nội",
    "Quận Cầu Giấy, Hà Nội",
    "Quận Hải Châu, Đà Nẵng",
    "Quận Ninh Kiều, Cần Thơ",
    "TP. Huế",
)
MOBILE_PREFIXES = ("090", "091", "093", "094", "096", "097", "098")
CHANNELS = ("web-form", "paper-form", "phone", "in-person", "app")


# Demo customers


@dataclass(frozen=True)
class DemoCustomer:
    details: PersonalDetails
    channel: str
    evidence_ref: str


def demo_customers(count: int) -> list[DemoCustomer]:
    """Realistic Vietnamese customers, the same on every run."""
    return [_demo_customer(random.Random(number), number) for number in range(count)]


def _demo_customer(rng: random.Random, number: int) -> DemoCustomer:
    family = rng.choice(FAMILY_NAMES)
    given = rng.choice(GIVEN_NAMES)
    details = PersonalDetails(
        full_name=f"{family} {rng.choice(MIDDLE_NAMES)} {given}",
        phone=_mobile_number(rng),
        email=f"{_ascii(given)}.{_ascii(family)}{number}@example.vn",
        postal_address=f"{rng.randrange(1, 400)} {rng.choice(STREETS)}, "
        f"{rng.choice(CITIES)}",
        date_of_birth=_birthday(rng),
    )
    return DemoCustomer(details, rng.choice(CHANNELS), f"bench/consent/{number:06d}")


def _mobile_number(rng: random.Random) -> str:
    """A Vietnamese mobile number written as people do: 0912 345 678."""
    digits = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**7):07d}"
    return f"{digits[:4]} {digits[4:7]} {digits[7:]}"


def _birthday(rng: random.Random) -> str:
    born = date(1955, 1, 1) + timedelta(days=rng.randrange(50 * 365))
    return born.isoformat()


def _ascii(text: str) -> str:
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode().lower()


# Backends and their databases


@dataclass(frozen=True)
class Backend:
    """SQLite files in a temporary folder, or a PostgreSQL server to create on."""

    admin_url: str = ""

    @property
    def uses_postgres(self) -> bool:
        return bool(self.admin_url)

    @property
    def title(self) -> str:
        return "PostgreSQL" if self.uses_postgres else "SQLite"


def postgres_reachable(admin_url: str) -> bool:
    try:
        psycopg.connect(admin_url, connect_timeout=3).close()
    except psycopg.OperationalError as error:
        where = urlsplit(admin_url).netloc.rpartition("@")[2]  # never the password
        print(f"PostgreSQL is not reachable at {where}: {error}".strip())
        print("Running SQLite only.\n")
        return False
    return True


@contextmanager
def fresh_database(backend: Backend) -> Iterator[str]:
    """A new PostgreSQL database, dropped afterwards; empty for SQLite."""
    if not backend.uses_postgres:
        yield ""
        return
    name = f"ledgercrm_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(backend.admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlunsplit(urlsplit(backend.admin_url)._replace(path=f"/{name}"))
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_settings(data_dir: Path, database_url: str) -> Settings:
    return load_settings(
        data_dir=data_dir,
        database_url=database_url,
        wrapping_key_file=data_dir / "wrapping_key.json",
        ledger_signing_key_file=data_dir / "ledger_signing.key",
    )


def initialised(settings: Settings) -> Settings:
    """Creates the key files `ledgercrm init` would create."""
    create_wrapping_key_file(settings.key_file)
    create_signing_key(settings.signing_key_file, settings.ledger_origin)
    return settings


# The three subjects: each opens fresh storage and yields "register customer n"

Register = Callable[[int], object]
Subject = Callable[
    [Backend, Path, list[DemoCustomer]], AbstractContextManager[Register]
]


@contextmanager
def ledgercrm(
    backend: Backend, data_dir: Path, customers: list[DemoCustomer]
) -> Iterator[Register]:
    """register_customer: validation, consent, data key creation, sealed fields."""
    with fresh_database(backend) as url:
        services = open_services(initialised(bench_settings(data_dir, url)))
        try:
            notice_version = _publish_marketing_notice(services.crm)
            register = _ledgercrm_register(services.crm, notice_version, customers)
            LEDGERCRM_SERVICES[register] = services
            yield register
        finally:
            services.close()


# The services behind each LedgerCRM register function, for the integrator run.
LEDGERCRM_SERVICES: dict[Register, Services] = {}


def integrator_rate(services: Services) -> tuple[int, float]:
    """Entries and seconds for the ledger integrator to take in every event stored.

    The same work `ledgercrm serve` does behind the writers: read the
    notification log, write entries and tiles, sign a ledger checkpoint.
    """
    integrator = services.ledger_integrator()
    started = time.perf_counter()
    with integrator:
        integrator.run_once()
        integrator.sign_ledger_checkpoint()
        size = integrator.tree_size
    return size, time.perf_counter() - started


def _publish_marketing_notice(crm: CRM) -> int:
    admin = Actor(user_id="bench-admin", role="admin")
    categories = [("họ tên", "basic"), ("số điện thoại", "basic"), ("e-mail", "basic")]
    crm.define_purpose(
        admin,
        PURPOSE_CODE,
        "Gửi ưu đãi qua e-mail",
        "Offers by e-mail",
        "consent",
        categories,
        retention_days=730,
    )
    version, _ = crm.publish_notice(admin, PURPOSE_CODE, NOTICE_VI, NOTICE_EN)
    return version


def _ledgercrm_register(
    crm: CRM, notice_version: int, customers: list[DemoCustomer]
) -> Register:
    def register(number: int) -> object:
        demo = customers[number]
        consent = ConsentCapture(
            PURPOSE_CODE, notice_version, NOTICE_SHA256, demo.channel, demo.evidence_ref
        )
        return crm.register_customer(ACTOR, demo.details, PROFILE, [consent])

    return register


class PlainCustomer(Aggregate):
    """The Customer's fields and a consent, with no rules, keys or encryption."""

    @event("Registered")
    def __init__(
        self,
        full_name: str,
        phone: str | None,
        email: str | None,
        postal_address: str | None,
        date_of_birth: str | None,
        stage: str,
        owner: str,
        tags: list[str],
        jurisdiction: str,
        actor: str,
    ) -> None:
        self.full_name, self.phone, self.email = full_name, phone, email
        self.postal_address, self.date_of_birth = postal_address, date_of_birth
        self.stage, self.owner, self.tags = stage, owner, list(tags)
        self.jurisdiction = jurisdiction
        self.consents: dict[str, dict[str, Any]] = {}

    @event("ConsentGiven")
    def give_consent(
        self,
        purpose_code: str,
        notice_version: int,
        notice_sha256: str,
        channel: str,
        evidence_ref: str,
        actor: str,
    ) -> None:
        self.consents[purpose_code] = {
            "notice_version": notice_version,
            "notice_sha256": notice_sha256,
            "channel": channel,
            "evidence_ref": evidence_ref,
            "given_by": actor,
        }


@contextmanager
def plain_eventsourcing(
    backend: Backend, data_dir: Path, customers: list[DemoCustomer]
) -> Iterator[Register]:
    """A plain Application saving PlainCustomer, pooled like LedgerCRM's store."""
    with fresh_database(backend) as url:
        env = event_store_env(bench_settings(data_dir, url))
        module = "eventsourcing.postgres" if url else "eventsourcing.sqlite"
        application = Application[uuid.UUID](env | {"PERSISTENCE_MODULE": module})
        try:
            yield _plain_register(application, customers)
        finally:
            application.close()


def _plain_register(
    application: Application[uuid.UUID], customers: list[DemoCustomer]
) -> Register:
    def register(number: int) -> object:
        demo, actor = customers[number], str(ACTOR)
        customer = PlainCustomer(
            **vars(demo.details),
            stage=PROFILE.stage,
            owner=PROFILE.owner,
            tags=PROFILE.tags,
            jurisdiction=PROFILE.jurisdiction,
            actor=actor,
        )
        customer.give_consent(
            PURPOSE_CODE, 1, NOTICE_SHA256, demo.channel, demo.evidence_ref, actor
        )
        return application.save(customer)

    return register


RAW_TABLE = (
    "CREATE TABLE stored_events (originator_id {uuid} NOT NULL, "
    "originator_version integer NOT NULL, topic text NOT NULL, state {blob}, "
    "PRIMARY KEY (originator_id, originator_version))"
)
RAW_TOPIC = "domain.customer:Customer.Registered"


@contextmanager
def raw_driver(
    backend: Backend, data_dir: Path, customers: list[DemoCustomer]
) -> Iterator[Register]:
    """One INSERT and one COMMIT per customer, on a connection per client."""
    states = [_raw_state(demo) for demo in customers]
    with fresh_database(backend) as url:
        if url:
            opened = _psycopg_connections(url, states)
        else:
            opened = _sqlite3_connections(data_dir / "raw.sqlite3", states)
        with opened as register:
            yield register


def _raw_state(demo: DemoCustomer) -> bytes:
    """The customer as JSON, padded to 600 bytes.

    Stored Registered events take about 430 bytes plain and 830 bytes sealed.
    """
    state = json.dumps(vars(demo.details), ensure_ascii=False).encode()
    return state + b" " * max(0, RAW_STATE_BYTES - len(state))


@contextmanager
def _psycopg_connections(url: str, states: list[bytes]) -> Iterator[Register]:
    with psycopg.connect(url, autocommit=True) as setup:
        setup.execute(RAW_TABLE.format(uuid="uuid", blob="bytea"))

    def insert(connection: psycopg.Connection[Any], number: int) -> None:
        connection.execute(
            "INSERT INTO stored_events VALUES (%s, %s, %s, %s)",
            (uuid.uuid4(), 1, RAW_TOPIC, states[number]),
        )
        connection.commit()

    with _pooled(lambda: psycopg.connect(url), insert) as register:
        yield register


@contextmanager
def _sqlite3_connections(path: Path, states: list[bytes]) -> Iterator[Register]:
    with closing(_sqlite3_connect(path)) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute(RAW_TABLE.format(uuid="TEXT", blob="BLOB"))

    # One writer at a time, queued here: SQLite's busy handler would poll and sleep.
    writer = threading.Lock()

    def insert(connection: sqlite3.Connection, number: int) -> None:
        with writer:
            connection.execute("BEGIN")
            connection.execute(
                "INSERT INTO stored_events VALUES (?, ?, ?, ?)",
                (uuid.uuid4().hex, 1, RAW_TOPIC, states[number]),
            )
            connection.execute("COMMIT")

    with _pooled(lambda: _sqlite3_connect(path), insert) as register:
        yield register


def _sqlite3_connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(
        path, isolation_level=None, timeout=30, check_same_thread=False
    )


@contextmanager
def _pooled(
    connect: Callable[[], Any], insert: Callable[[Any, int], None]
) -> Iterator[Register]:
    """Lends each client a connection, opening one only when all are in use."""
    idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
    opened = []

    def register(number: int) -> None:
        try:
            connection = idle.get_nowait()
        except queue.Empty:
            connection = connect()
            opened.append(connection)
        try:
            insert(connection, number)
        finally:
            idle.put(connection)

    try:
        yield register
    finally:
        for connection in opened:
            connection.close()


# Measuring


@dataclass
class Measurement:
    subject: str
    clients: int
    registered: int = 0
    seconds: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)
    tracebacks: dict[str, str] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.registered / self.seconds if self.seconds else 0.0


def measure_in_turns(
    registers: dict[str, Register], customers: int, clients: int
) -> list[Measurement]:
    """Gives each subject a slice in turn, so a slow spell of the disk hits all."""
    results = {name: Measurement(name, clients) for name in registers}
    for name, register in registers.items():
        run_clients(register, range(WARM_UP), clients, results[name])
        results[name].registered, results[name].seconds = 0, 0.0
    for round_number in range(ROUNDS):
        numbers = range(WARM_UP + round_number, WARM_UP + customers, ROUNDS)
        for name, register in registers.items():
            run_clients(register, numbers, clients, results[name])
    return list(results.values())


def run_clients(
    register: Register, numbers: range, clients: int, result: Measurement
) -> None:
    """Registers `numbers` from `clients` threads started together; adds the time."""
    start = threading.Barrier(clients + 1)
    threads = [
        threading.Thread(
            target=_client, args=(register, numbers[k::clients], result, start)
        )
        for k in range(clients)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    result.seconds += time.perf_counter() - began


def _client(
    register: Register, share: range, result: Measurement, start: threading.Barrier
) -> None:
    start.wait()
    for number in share:
        _attempt(register, number, result)


_result_lock = threading.Lock()


def _attempt(register: Register, number: int, result: Measurement) -> None:
    try:
        register(number)
    except Exception as error:
        problem = f"{type(error).__module__}.{type(error).__qualname__}"
        with _result_lock:
            result.errors[problem] += 1
            result.tracebacks.setdefault(problem, traceback.format_exc())
    else:
        with _result_lock:
            result.registered += 1


# Running and reporting

SUBJECTS: dict[str, Subject] = {
    "LedgerCRM": ledgercrm,
    "plain eventsourcing": plain_eventsourcing,
    "raw driver": raw_driver,
}


def bench_backend(
    backend: Backend, customers: int, concurrencies: list[int], workdir: Path
) -> list[Measurement]:
    """Each concurrency on fresh databases, one per subject, open side by side."""
    demo = demo_customers(WARM_UP + customers)
    results = []
    for clients in concurrencies:
        with ExitStack() as stack:
            registers = {
                name: stack.enter_context(subject(backend, _fresh_dir(workdir), demo))
                for name, subject in SUBJECTS.items()
            }
            measured = measure_in_turns(registers, customers, clients)
            services = LEDGERCRM_SERVICES.pop(registers["LedgerCRM"])
            entries, seconds = integrator_rate(services)
        for result in measured:
            print(f"  {_progress(result)}", flush=True)
        ingest = next(r for r in measured if r.subject == "LedgerCRM")
        print(f"  {_integrator_progress(ingest, entries, seconds)}", flush=True)
        results += measured
    return results


def _integrator_progress(ingest: Measurement, entries: int, seconds: float) -> str:
    """The integrator's rate against the rate LedgerCRM stored events at.

    Events per customer come from the ledger itself: every stored event,
    purposes and warm-up included, over every customer registered.
    """
    events_per_customer = entries / (ingest.registered + WARM_UP)
    ingest_events = ingest.per_second * events_per_customer
    integrated = entries / seconds
    return (
        f"ledger integrator: {integrated:,.0f} entries/s, "
        f"{integrated / ingest_events:,.1f}x the {ingest_events:,.0f} events/s "
        f"LedgerCRM stored with {ingest.clients} client(s) (target: at least 10x)"
    )


def _fresh_dir(workdir: Path) -> Path:
    return Path(tempfile.mkdtemp(dir=workdir))


def _progress(result: Measurement) -> str:
    failed = sum(result.errors.values())
    return (
        f"{result.subject}, {result.clients} client(s): {result.per_second:,.0f}/s"
        + (f", {failed} failed" if failed else "")
    )


def print_table(
    backend: Backend, results: list[Measurement], concurrencies: list[int]
) -> None:
    rate = {(r.subject, r.clients): r.per_second for r in results}
    raw = "raw psycopg" if backend.uses_postgres else "raw sqlite3"
    header = "".join(f"{f'{c} client' + 's' * (c > 1):>14}" for c in concurrencies)
    print(f"\n{backend.title}: customers registered per second\n")
    print(f"{'':34}{header}")
    for name in SUBJECTS:
        label = raw if name == "raw driver" else name
        cells = "".join(f"{rate[name, c]:>14,.0f}" for c in concurrencies)
        print(f"{label:34}{cells}")
    for other in ("plain eventsourcing", "raw driver"):
        label = f"LedgerCRM / {raw if other == 'raw driver' else other}"
        ratios = [_ratio(rate["LedgerCRM", c], rate[other, c]) for c in concurrencies]
        print(f"{label:34}" + "".join(f"{r:>14}" for r in ratios))
    print_errors(results)


def _ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}x" if denominator else "n/a"


def print_errors(results: list[Measurement]) -> None:
    for result in results:
        for problem, count in result.errors.items():
            print(
                f"\n{result.subject}, {result.clients} client(s): {count} failed "
                f"with {problem}; the first:\n{_summary(result.tracebacks[problem])}"
            )


def _summary(formatted: str) -> str:
    """The last frames of a traceback, enough to find where it failed."""
    lines = formatted.rstrip().splitlines()
    return "\n".join("    " + line for line in lines[-12:])


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=_positive, default=2_000, metavar="N")
    parser.add_argument(
        "--clients",
        type=_positive,
        default=8,
        metavar="C",
        help="concurrent client threads, measured beside 1 (default: %(default)s)",
    )
    parser.add_argument(
        "--backend", choices=("sqlite", "postgres", "both"), default="both"
    )
    parser.add_argument(
        "--postgres",
        default=DEFAULT_POSTGRES,
        metavar="URL",
        help="server to create the benchmark databases on (default: %(default)s)",
    )
    return parser.parse_args()


def _positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text}")
    return number


def backends(choice: str, admin_url: str) -> list[Backend]:
    """The backends to run; SQLite alone when PostgreSQL cannot be reached."""
    if choice == "sqlite":
        return [Backend()]
    if not postgres_reachable(admin_url):
        return [Backend()]
    return [Backend(admin_url)] + ([Backend()] if choice == "both" else [])


def _machine() -> str:
    versions = ", ".join(
        f"{package} {metadata.version(package)}"
        for package in ("eventsourcing", "psycopg", "cryptography")
    )
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{versions}"
    )


def fsync_milliseconds(folder: Path, writes: int = 200) -> float:
    """The median time to write and fsync 4 kB in `folder`: the disk's pace."""
    timings = []
    with open(folder / "fsync-probe", "wb", buffering=0) as probe:
        for _ in range(writes):
            began = time.perf_counter()
            probe.write(b"\0" * 4096)
            os.fsync(probe.fileno())
            timings.append(time.perf_counter() - began)
    return statistics.median(timings) * 1000


def main() -> None:
    arguments = parse_arguments()
    concurrencies = sorted({1, arguments.clients})
    print(_machine(), end="\n\n")
    with tempfile.TemporaryDirectory(prefix="ledgercrm-bench-") as workdir:
        for backend in backends(arguments.backend, arguments.postgres):
            pace = fsync_milliseconds(Path(workdir))
            print(
                f"{backend.title}, {arguments.customers:,} customers per run "
                f"(write+fsync of 4 kB takes {pace:.2f} ms now):"
            )
            results = bench_backend(
                backend, arguments.customers, concurrencies, Path(workdir)
            )
            print_table(backend, results, concurrencies)
            print()


if __name__ == "__main__":
    main()
