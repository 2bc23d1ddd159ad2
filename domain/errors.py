"""Refusals of the domain: each says what was expected, and nothing was stored."""


class DomainError(Exception):
    """A command was refused; the message says what to do instead."""


class InvalidValueError(DomainError):
    """A field's value is malformed; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class NoBasisError(DomainError):
    """Personal data without a consent or agreement covering an active purpose."""


class NoBasisForPurposeError(DomainError):
    """PURPOSE-LIMITATION: no live consent or agreement of the customer covers the
    purpose a use of their data names."""

    def __init__(self, purpose_code: str) -> None:
        super().__init__(
            f"no consent or agreement of this customer covers purpose "
            f"{purpose_code!r}; use their data only for a purpose they agreed to"
        )
        self.purpose_code = purpose_code


class PurposeNotFoundError(DomainError):
    """No purpose has the given code."""

    def __init__(self, code: str) -> None:
        super().__init__(
            f"no purpose has the code {code!r}; list purposes to see the codes, or "
            "ask an administrator to define it"
        )
        self.code = code


class PurposeExistsError(DomainError):
    """A purpose with this code was defined before."""


class PurposeRetiredError(DomainError):
    """The purpose was retired and takes no new consent or agreement."""


class NoticeMismatchError(DomainError):
    """A consent names a notice version that was not published, or another text."""


class SensitiveNoticeRequiredError(DomainError):
    """SENSITIVE-DATA: a notice of a purpose with a sensitive data category does
    not tell the person about the sensitive processing."""


class SensitiveProcessingNotDeclaredError(DomainError):
    """SENSITIVE-DATA: a consent or an agreement for a sensitive purpose whose
    notice does not tell the person about the sensitive processing."""


class WrongBasisError(DomainError):
    """A consent for a purpose resting on an agreement, or the reverse."""


class ConsentNotGivenError(DomainError):
    """A withdrawal for a purpose the customer has no consent for."""


class CustomerNotFoundError(DomainError):
    """No customer with this id, or the customer was erased: callers cannot tell."""

    def __init__(self) -> None:
        super().__init__(
            "no customer with this id; check the id, or register the customer anew"
        )


class CustomerErasedError(CustomerNotFoundError):
    """The customer was erased; nothing new may be stored about them."""


class InteractionNotFoundError(DomainError):
    def __init__(self) -> None:
        super().__init__("no interaction with this id; check the id")


class ProcessingRestrictedError(DomainError):
    """The customer restricted processing, or objected to this purpose."""
