"""Where personal data is stored (LOCALISATION) and when it may leave Vietnam
(CROSS-BORDER): the stores' declared regions and the transfer records, as events."""

import uuid
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.customer import Customer
from domain.errors import DomainError
from domain.interaction import Interaction

STORES = ("event_store", "key_store", "backups")
HOME_REGION = "VN"
STORE_REGIONS_ID = uuid.uuid5(UUID("6f1d3c2e-8a4b-5e7f-9c0d-1a2b3c4d5e6f"), "stores")
# Events that carry a customer's personal data into the event store.
PERSONAL_EVENTS = (
    Customer.Registered,
    Customer.ContactDetailsChanged,
    Customer.PersonalDataRectified,
    Customer.RepresentativeConsented,
    Interaction.Logged,
)


class CrossBorderTransferError(DomainError):
    """Personal data of a Vietnamese subject bound for a store abroad, unrecorded."""


class StoreRegions(Aggregate):
    """The one record of where each store is and which transfers were filed."""

    class Event(Aggregate.Event):
        actor: str

    class Created(Event, Aggregate.Created):
        pass

    class Declared(Event):
        regions: dict[str, str]

        def apply(self, stores: "StoreRegions") -> None:
            stores.regions = dict(self.regions)
            stores.declared_at = self.timestamp.isoformat()

    class TransferRecorded(Event):
        store: str
        region: str
        dossier_ref: str
        filed_on: str

        def apply(self, stores: "StoreRegions") -> None:
            stores.transfers.append(
                {
                    "store": self.store,
                    "region": self.region,
                    "dossier_ref": self.dossier_ref,
                    "filed_on": self.filed_on,
                    "recorded_at": self.timestamp.isoformat(),
                }
            )

    def __init__(self) -> None:
        self.regions: dict[str, str] = {}
        self.declared_at: str | None = None
        self.transfers: list[dict[str, Any]] = []

    def declare(self, regions: dict[str, str], actor: str) -> bool:
        """Records the regions if they differ from the last declaration."""
        if regions == self.regions:
            return False
        self.trigger_event(self.Declared, regions=regions, actor=actor)
        return True

    def record_transfer(
        self, store: str, region: str, dossier_ref: str, filed_on: date, actor: str
    ) -> None:
        self.trigger_event(
            self.TransferRecorded,
            store=store,
            region=region,
            dossier_ref=dossier_ref,
            filed_on=filed_on.isoformat(),
            actor=actor,
        )

    def has_transfer(self, store: str, region: str) -> bool:
        return any(
            t["store"] == store and t["region"] == region for t in self.transfers
        )


def check_personal_data_may_be_stored(
    pending: list[Any],
    jurisdiction_of: Any,
    event_store_region: str,
    stores: StoreRegions | None,
) -> None:
    """CROSS-BORDER: refuses personal data of a `VN` subject bound for an event
    store outside Vietnam, unless a transfer record covers that store's region.

    `jurisdiction_of(event)` names the subject's jurisdiction; it is called only
    when the event store is abroad, so a store in Vietnam pays nothing.
    """
    if event_store_region == HOME_REGION:
        return
    for event in pending:
        if not isinstance(event, PERSONAL_EVENTS):
            continue
        if jurisdiction_of(event) != HOME_REGION:
            continue
        if stores is not None and stores.has_transfer(
            "event_store", event_store_region
        ):
            continue
        raise CrossBorderTransferError(
            f"personal data of a subject in Vietnam may not be written to the event "
            f"store in region {event_store_region!r} without a cross-border transfer "
            "record; file the transfer impact dossier and record it (dossier "
            "reference and filing date) with POST /v1/dpo/transfers, or keep the "
            "event store in VN"
        )
