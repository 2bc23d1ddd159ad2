"""The ledger package's public face."""

import importlib

import pytest

import ledger
from ledger import LedgerStoreError, open_ledger_store


def test_every_public_name_resolves_to_what_it_names() -> None:
    importlib.import_module("ledger.exporter")

    for name in ledger.__all__:
        assert getattr(ledger, name) is not None
    assert callable(ledger.export) and ledger.export.__name__ == "export"


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError):
        ledger.Manager  # noqa: B018


def test_unsupported_database_url_says_which_ones_work() -> None:
    with pytest.raises(LedgerStoreError, match="sqlite:///DATA_DIR or postgresql://"):
        open_ledger_store("mysql://localhost/crm")
