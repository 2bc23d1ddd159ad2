"""Statistics for managers, from the customers read model, with small groups
suppressed so that no person can be singled out (AGGREGATES-ONLY)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from projections.customers_by_id import CustomersById
from projections.sql import Database


@dataclass(frozen=True)
class Group:
    """One group's size, or None when the group is suppressed."""

    value: str
    count: int | None

    @property
    def suppressed(self) -> bool:
        return self.count is None


@dataclass(frozen=True)
class ConsentRate:
    purpose_code: str
    rate: float | None


@dataclass(frozen=True)
class CustomerStatistics:
    min_group: int
    customers: int | None
    by_stage: list[Group]
    by_owner: list[Group]
    by_jurisdiction: list[Group]
    by_province: list[Group]
    consent_rates: list[ConsentRate]
    interactions_by_week: list[Group]


def suppress(counts: Counter[str], min_group: int) -> list[Group]:
    """Hides groups under `min_group`; if only one would be hidden, hides the next
    smallest too, so that no hidden count follows from a total minus the rest."""
    small = {value for value, count in counts.items() if count < min_group}
    if len(small) == 1 and len(counts) > 1:
        rest = sorted((c, v) for v, c in counts.items() if v not in small)
        small.add(rest[0][1])
    return [
        Group(value, None if value in small else count)
        for value, count in sorted(counts.items())
    ]


def customer_statistics(
    database: Database, customers: CustomersById, min_group: int
) -> CustomerStatistics:
    """Counts over customers not erased; every count below `min_group` is hidden."""
    with database.reading() as cursor:
        cursor.execute(
            "SELECT stage, owner, jurisdiction, consents, province "
            f"FROM {customers.customer_table} WHERE erased = 0"
        )
        rows = cursor.fetchall()
        cursor.execute(f"SELECT occurred_at FROM {customers.interaction_table}")
        occurred = [datetime.fromisoformat(row[0]) for row in cursor.fetchall()]
    total = len(rows)
    return CustomerStatistics(
        min_group=min_group,
        customers=total if total >= min_group else None,
        by_stage=suppress(Counter(r[0] for r in rows), min_group),
        by_owner=suppress(Counter(r[1] or "(none)" for r in rows), min_group),
        by_jurisdiction=suppress(Counter(r[2] for r in rows), min_group),
        by_province=suppress(Counter(r[4] or "(none)" for r in rows), min_group),
        consent_rates=_consent_rates([json.loads(r[3]) for r in rows], min_group),
        interactions_by_week=suppress(Counter(map(_iso_week, occurred)), min_group),
    )


def _consent_rates(
    consents: list[dict[str, dict[str, object]]], min_group: int
) -> list[ConsentRate]:
    """Share of customers with a live consent per purpose; hidden when those with
    or those without it are fewer than `min_group`."""
    total = len(consents)
    live = Counter(
        code
        for customer in consents
        for code, consent in customer.items()
        if consent.get("withdrawn_at") is None
    )
    given = set(live) | {code for customer in consents for code in customer}
    return [
        ConsentRate(
            code,
            None
            if min(live[code], total - live[code]) < min_group
            else live[code] / total,
        )
        for code in sorted(given)
    ]


def _iso_week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"
