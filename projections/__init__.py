"""Read models built from the CRM's events, each with its projection_position."""

from projections.customers_by_id import CustomerRow, CustomersById, InteractionRow
from projections.erasures import ErasureRow, Erasures
from projections.lookup_hashes import CustomerLookupHashes
from projections.runner import ProjectionRunner
from projections.sql import Database, PostgresDatabase, SQLiteDatabase, StorageError

__all__ = [
    "CustomerLookupHashes",
    "CustomerRow",
    "CustomersById",
    "Database",
    "ErasureRow",
    "Erasures",
    "InteractionRow",
    "PostgresDatabase",
    "ProjectionRunner",
    "SQLiteDatabase",
    "StorageError",
]
