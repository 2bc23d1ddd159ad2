"""Markers that event classes use to declare personal fields and their data subject."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


class _Marker:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


Personal: Final = _Marker("Personal")
"""Marks a field as personal data: `full_name: Annotated[str, Personal]`."""

DataSubject: Final = _Marker("DataSubject")
"""Marks the field holding the id of the person the personal fields are about."""


class Erased:
    """The value a personal field reads as once its data key has been shredded."""

    _instance: Erased | None = None

    def __new__(cls) -> Erased:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "ERASED"

    def __reduce__(self) -> str:
        return "ERASED"


ERASED: Final = Erased()


@dataclass(frozen=True)
class PersonalState:
    """Declares which attributes of an aggregate's state are personal data.

    Snapshots carry an aggregate's whole state, so the aggregate class says which
    of its attributes to seal and which attribute (or `originator_id`) names the
    data subject.
    """

    subject: str
    fields: tuple[str, ...]
