"""Retention runs: find customers whose every basis ended and whose retention
passed, and erase each by crypto-shredding, with its certificate."""

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from api import erasure
from api.privacy import notifications_of
from api.wiring import Services
from domain import Actor, Customer, DomainError
from domain.retention import retention_ends

logger = logging.getLogger(__name__)
RETENTION_ACTOR = Actor(user_id="retention-schedule", role="system")


@dataclass(frozen=True)
class RetentionDue:
    customer_id: UUID
    retention_ended_at: datetime


def due_for_erasure(services: Services, now: datetime) -> list[RetentionDue]:
    """Customers not erased whose retention ended before `now`: each registered
    customer's row in the read model is checked, and each one due is confirmed on
    the customer's own events."""
    purposes = {p.code: p for p in services.crm.purposes()}
    due = []
    for customer_id in registered_customer_ids(services):
        row = services.customers.customer(services.read_models, customer_id)
        if row is None or row.erased:
            continue
        ends = retention_ends(row.consents, row.agreements, purposes)
        if ends is None or ends > now:
            continue
        if _confirmed(services, customer_id, now, purposes):
            due.append(RetentionDue(customer_id, ends))
    return due


def registered_customer_ids(services: Services) -> list[UUID]:
    topics = [get_topic(Customer.Registered)]
    return [
        UUID(str(n.originator_id))
        for n in notifications_of(services, topics, decode=False)
    ]


def run_retention(
    services: Services,
    now: datetime,
    *,
    dry_run: bool,
    drive_read_side: bool = False,
) -> list[dict[str, Any]]:
    """Each customer due, and unless `dry_run` the certificate of their erasure.

    A process without running projections (the CLI) passes `drive_read_side` to
    apply the erasure to the read models itself; its certificates then carry a
    `pending` ledger proof, to fetch again from the API once signed.
    """
    results = []
    for item in due_for_erasure(services, now):
        result: dict[str, Any] = {
            "customer_id": str(item.customer_id),
            "retention_ended_at": item.retention_ended_at.isoformat(),
        }
        if not dry_run:
            ended = result["retention_ended_at"]
            ground = f"RETENTION: every basis ended; retention passed at {ended}"
            result["certificate"] = _erase(
                services, item.customer_id, ground, drive_read_side
            )
            logger.info("retention erased customer %s", item.customer_id)
        results.append(result)
    return results


def run_periodically(
    services: Services, stop: threading.Event, interval: float, first_delay: float
) -> None:
    """Runs retention every `interval` seconds until `stop` is set; a failed run
    is logged and retried at the next interval."""
    wait = first_delay
    while not stop.wait(wait):
        try:
            erased = run_retention(services, datetime.now(UTC), dry_run=False)
            logger.info("retention run erased %d customers", len(erased))
        except Exception:
            logger.exception("retention run failed; retrying at the next interval")
        wait = interval


def _confirmed(
    services: Services, customer_id: UUID, now: datetime, purposes: dict[str, Any]
) -> bool:
    try:
        customer = services.crm.customer(customer_id)
    except DomainError:
        return False
    if customer.erased or customer.erasure_requested:
        return False
    ends = retention_ends(customer.consents, customer.agreements, purposes)
    return ends is not None and ends <= now


def _erase(
    services: Services, customer_id: UUID, ground: str, drive_read_side: bool
) -> dict[str, Any]:
    if not drive_read_side:
        return erasure.erase_customer(services, RETENTION_ACTOR, customer_id, ground)
    services.crm.erase_customer(RETENTION_ACTOR, customer_id, ground)
    for runner in services.runners:
        runner.catch_up()
    return erasure.erasure_certificate(services, customer_id)
