"""Checks and normalisation of the values a command carries."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from domain.errors import InvalidValueError

DEFAULT_PHONE_REGION = "VN"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_TEXT = 2_000
SUBDIVISION_CODE = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}")
# Vietnam's 34 provincial-level units since 1 July 2025 (Resolution 202/2025/QH15).
VN_PROVINCES = (
    "An Giang", "Bắc Ninh", "Cà Mau", "Cao Bằng", "Cần Thơ", "Đà Nẵng", "Đắk Lắk",
    "Điện Biên", "Đồng Nai", "Đồng Tháp", "Gia Lai", "Hà Nội", "Hà Tĩnh",
    "Hải Phòng", "Hồ Chí Minh", "Huế", "Hưng Yên", "Khánh Hòa", "Lai Châu",
    "Lạng Sơn", "Lào Cai", "Lâm Đồng", "Nghệ An", "Ninh Bình", "Phú Thọ",
    "Quảng Ngãi", "Quảng Ninh", "Quảng Trị", "Sơn La", "Tây Ninh", "Thái Nguyên",
    "Thanh Hóa", "Tuyên Quang", "Vĩnh Long",
)  # fmt: skip


def text(field: str, value: str, *, max_length: int = 200) -> str:
    """The text exactly as given, in Unicode NFC; refused if blank or too long."""
    normalised = unicodedata.normalize("NFC", value)
    if not normalised.strip():
        raise InvalidValueError(field, "must not be blank")
    if len(normalised) > max_length:
        raise InvalidValueError(field, f"must be at most {max_length} characters")
    return normalised


def optional_text(
    field: str, value: str | None, *, max_length: int = 200
) -> str | None:
    return None if value is None else text(field, value, max_length=max_length)


def phone(value: str | None) -> str | None:
    """A Vietnamese (0912 345 678) or international (+84 912 345 678) number."""
    if value is None:
        return None
    normalised = text("phone", value, max_length=40)
    try:
        number = phonenumbers.parse(normalised, DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidValueError(
            "phone",
            "is not a valid phone number; give a Vietnamese number such as "
            "0912 345 678 or an international one such as +44 20 7946 0958",
        )
    return normalised


def email(value: str | None) -> str | None:
    if value is None:
        return None
    normalised = text("email", value, max_length=254)
    try:
        validate_email(normalised, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidValueError(
            "email", "is not a valid e-mail address, such as an@example.vn"
        ) from None
    return normalised


def date_of_birth(value: str | None, *, today: date | None = None) -> str | None:
    """An ISO date (YYYY-MM-DD) between 1900-01-01 and today."""
    if value is None:
        return None
    try:
        if not ISO_DATE.fullmatch(value):
            raise ValueError(value)
        born = date.fromisoformat(value)
    except ValueError:
        raise InvalidValueError(
            "date_of_birth", "must be a date written YYYY-MM-DD, such as 1990-04-30"
        ) from None
    if not date(1900, 1, 1) <= born <= (today or date.today()):
        raise InvalidValueError(
            "date_of_birth", "must lie between 1900-01-01 and today"
        )
    return born.isoformat()


def jurisdiction(value: str) -> str:
    if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidValueError(
            "jurisdiction", "must be a two-letter country code such as VN"
        )
    return value.upper()


def province(value: str, jurisdiction: str) -> str:
    """A Vietnamese province by its name, or elsewhere an ISO 3166-2 code.

    A closed list, never free text: the field is stored unencrypted, so it must not
    be able to carry an address or a name.
    """
    if not value:
        return ""
    normalised = unicodedata.normalize("NFC", value.strip())
    if jurisdiction == "VN":
        if normalised not in VN_PROVINCES:
            raise InvalidValueError(
                "province",
                "must be one of Vietnam's 34 provinces and cities, written as in "
                "Resolution 202/2025/QH15, such as Hà Nội or Hồ Chí Minh",
            )
        return normalised
    code = normalised.upper()
    if not (SUBDIVISION_CODE.fullmatch(code) and code[:2] == jurisdiction):
        raise InvalidValueError(
            "province",
            "outside Vietnam, must be an ISO 3166-2 code of the customer's "
            "jurisdiction, such as GB-LND for GB",
        )
    return code


def tags(values: list[str]) -> list[str]:
    return [text("tags", tag, max_length=50) for tag in values]


def one_of(field: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidValueError(field, f"must be one of {', '.join(allowed)}")
    return value
