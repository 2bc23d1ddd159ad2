"""The CRM's domain: purposes, customers, consents and interactions as events."""

from domain.application import (
    CRM,
    ROLES,
    Actor,
    AgreementCapture,
    ConsentCapture,
    CustomerProfile,
    PersonalDataDisclosure,
    PersonalDataKeys,
    PersonalDataRead,
    PersonalDetails,
    Registration,
    Written,
)
from domain.customer import Customer
from domain.errors import DomainError
from domain.interaction import Interaction
from domain.purpose import Purpose, notice_sha256, purpose_id

__all__ = [
    "CRM",
    "ROLES",
    "Actor",
    "AgreementCapture",
    "ConsentCapture",
    "Customer",
    "CustomerProfile",
    "DomainError",
    "Interaction",
    "PersonalDataDisclosure",
    "PersonalDataKeys",
    "PersonalDataRead",
    "PersonalDetails",
    "Purpose",
    "Registration",
    "Written",
    "notice_sha256",
    "purpose_id",
]
