"""Read models built from the CRM's events, each with its projection_position."""

from projections.customer_timeline import CustomerTimelines, TimelineEntry
from projections.customers_by_id import (
    CustomerFilter,
    CustomerRow,
    CustomersById,
    InteractionRow,
    PageMark,
)
from projections.effective_consents import (
    ConsentChange,
    EffectiveConsent,
    EffectiveConsents,
)
from projections.erasures import ErasureRow, Erasures
from projections.events_by_subject import EventsBySubject
from projections.feed import NotificationFeed
from projections.lookup_hashes import CustomerLookupHashes
from projections.purposes_with_notices import (
    NoticeRow,
    PurposeRow,
    PurposesWithNotices,
)
from projections.runner import ProjectionRunner
from projections.sql import Database, PostgresDatabase, SQLiteDatabase, StorageError

__all__ = [
    "ConsentChange",
    "CustomerFilter",
    "CustomerLookupHashes",
    "CustomerRow",
    "CustomerTimelines",
    "CustomersById",
    "Database",
    "EffectiveConsent",
    "EffectiveConsents",
    "ErasureRow",
    "Erasures",
    "EventsBySubject",
    "InteractionRow",
    "NoticeRow",
    "NotificationFeed",
    "PageMark",
    "PostgresDatabase",
    "ProjectionRunner",
    "PurposeRow",
    "PurposesWithNotices",
    "SQLiteDatabase",
    "StorageError",
    "TimelineEntry",
]
