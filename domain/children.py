"""CHILDREN: who must consent for a child, from the date of birth (L91 Art 24).

Under 16, a recorded legal representative consents for the child, always. From
7 to 15 the child consents too where the purpose discloses data (its `discloses`
flag; purposes defined before the flag count as disclosing).
"""

from dataclasses import dataclass
from datetime import date

from domain.errors import DomainError

REPRESENTATIVE_BELOW = 16
CHILD_ALSO_FROM = 7
RELATIONSHIPS = ("parent", "guardian", "other-legal-representative")


class ChildConsentError(DomainError):
    """A child's consent lacks the representative's, or the child's own."""


@dataclass(frozen=True)
class Representative:
    """The legal representative who consents for a child."""

    full_name: str
    relationship: str
    evidence_ref: str


def age_on(born: date, today: date) -> int:
    before_birthday = (today.month, today.day) < (born.month, born.day)
    return today.year - born.year - before_birthday


def check_child_consent(
    date_of_birth: object,
    representative: Representative | None,
    child_consented: bool,
    today: date,
    *,
    discloses: bool,
) -> None:
    """Refuses a consent for a child under 16 without their representative's, or,
    to a purpose that discloses data, for a child from 7 to 15 without their own
    as well."""
    if not isinstance(date_of_birth, str):
        return  # no date of birth recorded (or erased): treated as an adult
    age = age_on(date.fromisoformat(date_of_birth), today)
    if age >= REPRESENTATIVE_BELOW:
        return
    if representative is None:
        raise ChildConsentError(
            f"the customer is {age}, under {REPRESENTATIVE_BELOW}: their legal "
            "representative must consent; send representative {full_name, "
            "relationship, evidence_ref} with the consent"
        )
    if discloses and age >= CHILD_ALSO_FROM and not child_consented:
        raise ChildConsentError(
            f"the customer is {age} and the purpose discloses data: from "
            f"{CHILD_ALSO_FROM} to {REPRESENTATIVE_BELOW - 1} the child consents as "
            "well as the representative; send child_consented: true once they have"
        )
