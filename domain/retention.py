"""RETENTION: when a customer's data may no longer be kept.

Each purpose keeps data for its retention period after its basis ends: a consent
ends when withdrawn, any basis when its purpose is retired. While any basis still
holds, the data is kept; once every basis has ended, it is kept until the latest
of those ends plus that purpose's retention period, and then erased.
"""

from datetime import datetime, timedelta
from typing import Any

from domain.purpose import Purpose


def retention_ends(
    consents: dict[str, dict[str, Any]],
    agreements: dict[str, str],
    purposes: dict[str, Purpose],
) -> datetime | None:
    """When the customer's retention ends, or None while a basis holds."""
    ends: list[datetime] = []
    for code in sorted(set(consents) | set(agreements)):
        purpose = purposes[code]
        ended = _basis_ended(consents.get(code), purpose)
        if ended is None:
            return None
        ends.append(ended + timedelta(days=purpose.retention_days))
    return max(ends) if ends else None


def _basis_ended(consent: dict[str, Any] | None, purpose: Purpose) -> datetime | None:
    candidates = []
    if consent is not None and consent.get("withdrawn_at"):
        candidates.append(datetime.fromisoformat(consent["withdrawn_at"]))
    retired_at = purpose.__dict__.get("retired_at")
    if purpose.retired and isinstance(retired_at, datetime):
        candidates.append(retired_at)
    return min(candidates) if candidates else None
