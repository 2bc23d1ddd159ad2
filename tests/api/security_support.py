"""Helpers for the security-operations tests."""

from typing import Any

from api.settings import Settings, load_settings


def reconfigured(settings: Settings, **changes: Any) -> Settings:
    """The same deployment with some settings changed, validated as from the env."""
    return load_settings(**{**settings.model_dump(), **changes})
