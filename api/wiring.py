"""Builds the running parts from settings: stores, keys, the CRM and its read model."""

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import EventStore, Recording
from psycopg.conninfo import conninfo_to_dict

from api.access import AccessTokens
from api.key_custody import open_wrapping_keys
from api.read_log import GroupedReadLog
from api.settings import Settings
from crypto_shredding import (
    CryptoShredder,
    DataKeys,
    KeyedHashes,
    KeyStore,
    PersonalDataMapper,
    SealingEventStore,
)
from crypto_shredding.pkcs11_wrapping_key import Pkcs11WrappingKeys
from crypto_shredding.postgres_key_store import PostgresKeyStore
from crypto_shredding.sqlite_key_store import SQLiteKeyStore
from domain import CRM
from domain.residency import (
    HOME_REGION,
    STORE_REGIONS_ID,
    check_personal_data_may_be_stored,
)
from ledger import (
    LedgerIntegrator,
    LedgerReader,
    LedgerSigner,
    LedgerStore,
    open_ledger_store,
)
from projections import (
    CustomerLookupHashes,
    CustomersById,
    CustomerTimelines,
    Database,
    EffectiveConsents,
    Erasures,
    EventsBySubject,
    NotificationFeed,
    PostgresDatabase,
    ProjectionRunner,
    PurposesWithNotices,
    SQLiteDatabase,
)

SQLITE_EVENTS = "events.sqlite3"
SQLITE_KEYS = "keys.sqlite3"
SQLITE_READ_MODELS = "read_models.sqlite3"
SQLITE_ACCESS = "access.sqlite3"


class NotifyingCRM(CRM):
    """Wakes in-process projection runners as soon as events are recorded."""

    name = "ledgercrm"

    def __init__(self, env: dict[str, str], *, shredder: CryptoShredder) -> None:
        self.feed: NotificationFeed | None = None
        self.runners: list[ProjectionRunner] = []
        self.observers: list[Callable[[list[Recording[UUID]]], None]] = []
        # The last position runners were told of, to tell another process's
        # events (a gap before ours; a head beyond it) from this one's.
        self.last_told = 0
        self._told = threading.Condition()
        self._saving = 0  # saves between their start and telling the runners
        self._noticed = 0  # the last event of another process runners were told of
        super().__init__(env, personal_data=shredder)

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        # The feed notes the time first, then the runners whose read models
        # handle any of these events wake; the others pass over them later.
        # After a gap (events of another process not yet noticed, or of a thread
        # of this one told later) every runner wakes.
        if self.feed is not None:
            self.feed.set()
        ids = [recording.notification.id for recording in recordings]
        with self._told:
            told = max(self.last_told, self._noticed)
            gap = bool(ids) and min(ids) != told + 1
            self.last_told = max([self.last_told, *ids])
            self._told.notify_all()
        topics = {recording.notification.topic for recording in recordings}
        for runner in self.runners:
            if gap:
                runner.wake()
            else:
                runner.notice(topics)
        for observe in self.observers:
            observe(recordings)

    def recorded_elsewhere(self, timeout: float = 1.0) -> bool:
        """Whether the log holds events this process will not tell its runners
        of. A save of this process may have committed and not yet told them: its
        events are the head until it does, so wait (bounded) for saves under way."""
        head = self.recorder.max_notification_id() or 0
        with self._told:
            self._told.wait_for(
                lambda: self.last_told >= head or not self._saving, timeout
            )
            return self.last_told < head

    # Events of another process are read for their topics up to this many at a
    # time; beyond it every runner simply wakes and reads the log.
    noticed_at_most = 1_000

    def notice_recorded_elsewhere(self) -> None:
        """Tells the runners of events another process recorded, as `_notify` tells
        them of this process's own: the new notifications are read once, through
        the shared feed (which then answers the runners from memory), and only the
        runners whose read models handle one of their topics wake; the others
        pass over them at their next batch. A process that only projects (`ledgercrm
        projections run`) so stops waking seven runners for every recorded read."""
        if self.feed is None:
            for runner in self.runners:
                runner.wake()
            return
        self.feed.set()
        start = max(self.last_told, self._noticed) + 1
        notifications = self.feed.select_notifications(start, self.noticed_at_most)
        if len(notifications) == self.noticed_at_most:
            # A burst (an import, say): every runner reads the log anyway, so the
            # next news starts from the head rather than from the middle of it.
            self._noticed = self.recorder.max_notification_id() or 0
            for runner in self.runners:
                runner.wake()
            return
        topics = {notification.topic for notification in notifications}
        for runner in self.runners:
            runner.notice(topics)
        if notifications:
            self._noticed = notifications[-1].id

    def construct_event_store(self) -> EventStore[UUID]:
        # A save of many customers (an import batch) fetches or creates their
        # data keys in one go rather than one key store round trip each.
        return SealingEventStore(mapper=self.mapper, recorder=self.recorder)

    # CROSS-BORDER: where the event store is; open_services sets it from settings.
    event_store_region = HOME_REGION

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """Refuses personal data of a VN subject bound for a store abroad without
        a transfer record, before anything is recorded."""
        if self.event_store_region != HOME_REGION:
            self._check_residency(objs)
        with self._told:
            self._saving += 1
        try:
            return super().save(*objs, **kwargs)
        finally:
            with self._told:
                self._saving -= 1
                self._told.notify_all()

    def _check_residency(self, objs: tuple[Any, ...]) -> None:
        aggregates = {getattr(o, "id", None): o for o in objs}
        pending = [e for o in objs for e in getattr(o, "pending_events", [])]

        def jurisdiction_of(event: Any) -> str:
            customer_id = getattr(event, "customer_id", event.originator_id)
            customer = aggregates.get(customer_id) or self.customer(customer_id)
            return str(customer.jurisdiction)

        stores = (
            self.repository.get(STORE_REGIONS_ID)
            if STORE_REGIONS_ID in self.repository
            else None
        )
        check_personal_data_may_be_stored(
            pending, jurisdiction_of, self.event_store_region, stores
        )


@dataclass
class Services:
    """Everything a process needs; close() releases connections."""

    settings: Settings
    crm: NotifyingCRM
    data_keys: DataKeys
    customers: CustomersById
    read_models: Database
    runner: ProjectionRunner
    erasures: Erasures
    erasure_runner: ProjectionRunner
    access: AccessTokens
    ledger_store: LedgerStore
    signer: LedgerSigner
    consents: EffectiveConsents
    consent_runner: ProjectionRunner
    timelines: CustomerTimelines
    timeline_runner: ProjectionRunner
    purposes: PurposesWithNotices
    purpose_runner: ProjectionRunner
    lookups: CustomerLookupHashes
    lookup_runner: ProjectionRunner
    subject_events: EventsBySubject
    subject_events_runner: ProjectionRunner

    def __post_init__(self) -> None:
        # Requests that may wait for the read side at once, each holding one of
        # the API's worker threads meanwhile: half of them, so that waits never
        # take every thread.
        self.read_waits = threading.BoundedSemaphore(
            max(1, self.settings.worker_threads // 2)
        )

    @cached_property
    def read_log(self) -> GroupedReadLog:
        """Records reads of personal data, several per transaction under load."""
        return GroupedReadLog(self.crm)

    @property
    def ledger(self) -> LedgerReader:
        return LedgerReader(self.ledger_store)

    @property
    def runners(self) -> list[ProjectionRunner]:
        return [
            self.runner,
            self.erasure_runner,
            self.consent_runner,
            self.timeline_runner,
            self.purpose_runner,
            self.lookup_runner,
            self.subject_events_runner,
        ]

    def runner_named(self, name: str) -> ProjectionRunner:
        """The runner of the read model called `name`; ValueError names the others."""
        for runner in self.runners:
            if runner.read_model.name == name:
                return runner
        known = ", ".join(r.read_model.name for r in self.runners)
        raise ValueError(f"no projection named {name!r}; known: {known}")

    def wait_for_read_side(
        self,
        position: int,
        timeout: float,
        runners: Sequence[ProjectionRunner] | None = None,
    ) -> bool:
        """Read your own writes: True once the read models of `runners` (default
        the customers read model) have applied `position`, False if `timeout`
        seconds passed first."""
        deadline = time.monotonic() + timeout
        for runner in runners or [self.runner]:
            if not runner.wait_for(position, max(0.0, deadline - time.monotonic())):
                return False
        return True

    def wake_runners_for_others(self) -> None:
        """PostgreSQL announced events: unless they are this process's own (whose
        runners were told already), the runners whose read models handle them
        wake."""
        if self.crm.recorded_elsewhere():
            self.crm.notice_recorded_elsewhere()

    def wake_runners(self) -> None:
        """Every runner reads the log (the shared feed first notes the time, so
        that none is answered from before)."""
        for runner in self.runners:
            runner.wake()

    def ledger_integrator(self) -> LedgerIntegrator:
        """An integrator for this deployment; `start()` takes the ledger's lock."""
        return LedgerIntegrator(
            self.crm.recorder,
            self.ledger_store,
            self.signer,
            ledger_checkpoint_copy=self.settings.checkpoint_copy_file,
        )

    def close(self) -> None:
        self.crm.close()
        self.read_models.close()
        self.access.database.close()
        self.data_keys.store.close()
        if isinstance(self.data_keys.wrapping_keys, Pkcs11WrappingKeys):
            self.data_keys.wrapping_keys.close()
        self.ledger_store.close()


def open_services(settings: Settings) -> Services:
    """Opens every store; the key files must exist (`ledgercrm init` makes them)."""
    key_store = open_key_store(settings)
    data_keys = DataKeys(key_store, open_wrapping_keys(settings))
    data_keys.check_wrapping_keys()  # a wrong key file stops here, naming it
    crm = NotifyingCRM(event_store_env(settings), shredder=CryptoShredder(data_keys))
    # Read models replay from the events: their commits need not wait for disk.
    read_models = _database(settings, SQLITE_READ_MODELS, durable=False)
    mapper = cast(PersonalDataMapper, crm.mapper)
    customers = CustomersById(read_models.dialect)
    erasures = Erasures(read_models.dialect)
    consents = EffectiveConsents(read_models.dialect)
    timelines = CustomerTimelines(read_models.dialect)
    purposes = PurposesWithNotices(read_models.dialect)
    lookups = CustomerLookupHashes(
        read_models.dialect, KeyedHashes(data_keys), mapper.open_sealed
    )
    subject_events = EventsBySubject(read_models.dialect)
    # Runners woken by the same events share one read of the log.
    crm.feed = feed = NotificationFeed(crm.recorder)
    (
        runner,
        erasure_runner,
        consent_runner,
        timeline_runner,
        purpose_runner,
        lookup_runner,
        subject_events_runner,
    ) = (
        ProjectionRunner(
            read_model,
            read_models,
            feed,
            mapper,
            settle_seconds=settings.projection_settle_seconds,
        )
        for read_model in (
            customers,
            erasures,
            consents,
            timelines,
            purposes,
            lookups,
            subject_events,
        )
    )
    crm.event_store_region = settings.store_regions["event_store"]
    services = Services(
        settings,
        crm,
        data_keys,
        customers,
        read_models,
        runner,
        erasures,
        erasure_runner,
        AccessTokens(_database(settings, SQLITE_ACCESS)),
        open_ledger_store(settings.ledger_url),
        ledger_signer(settings),
        consents,
        consent_runner,
        timelines,
        timeline_runner,
        purposes,
        purpose_runner,
        lookups,
        lookup_runner,
        subject_events,
        subject_events_runner,
    )
    crm.runners = services.runners
    return services


def ledger_signer(settings: Settings) -> LedgerSigner:
    """The signing key, and during a rotation the overlap key, which signs too."""
    overlap = settings.ledger_overlap_signing_key_file
    return LedgerSigner.from_key_files(
        settings.signing_key_file, *([overlap] if overlap else [])
    )


def event_store_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing settings for our append-only recorders."""
    if not settings.uses_postgres:
        return {
            "PERSISTENCE_MODULE": "api.sqlite_recorders:AppendOnlySQLiteFactory",
            "SQLITE_DBNAME": str(_data_file(settings, SQLITE_EVENTS)),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    parts = conninfo_to_dict(settings.database_url)
    return {
        "PERSISTENCE_MODULE": "api.postgres_recorders:AppendOnlyPostgresFactory",
        "POSTGRES_DBNAME": str(parts.get("dbname", "")),
        "POSTGRES_HOST": str(parts.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(parts.get("port", "5432")),
        "POSTGRES_USER": str(parts.get("user", "")),
        "POSTGRES_PASSWORD": str(parts.get("password", "")),
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "8",
        "POSTGRES_LOCK_TIMEOUT": "10",
        # Database functions bypass recorder hooks and the insert lock: keep them off.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
    }


def open_key_store(settings: Settings) -> KeyStore:
    if settings.uses_postgres:
        return PostgresKeyStore(settings.key_store_url or settings.database_url)
    return SQLiteKeyStore(_data_file(settings, SQLITE_KEYS))


def _database(
    settings: Settings, sqlite_file: str, *, durable: bool = True
) -> Database:
    if settings.uses_postgres:
        return PostgresDatabase(settings.database_url, durable=durable)
    return SQLiteDatabase(_data_file(settings, sqlite_file), durable=durable)


def _data_file(settings: Settings, name: str) -> Path:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings.data_dir / name
