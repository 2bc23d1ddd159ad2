"""docs/compliance.md names real tests, and every obligation id has a row."""

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import SHARED

ROOT = Path(__file__).resolve().parents[1]
MATRIX = ROOT / "docs" / "compliance.md"
REQUIREMENTS = SHARED / "REQUIREMENTS.md"
ROW_ID = re.compile(r"^\| ([A-Z][A-Z0-9-]+) \|")
TEST_REFERENCE = re.compile(r"`((?:tests/[\w/]+\.py)?(?:::test_\w+)?)`")


def matrix_ids() -> set[str]:
    lines = MATRIX.read_text(encoding="utf-8").splitlines()
    return {m.group(1) for line in lines if (m := ROW_ID.match(line))}


def referenced_tests() -> list[tuple[str, str | None]]:
    """(file, test or None for the whole file), in the order they are written."""
    references: list[tuple[str, str | None]] = []
    current = ""
    for item in TEST_REFERENCE.findall(MATRIX.read_text(encoding="utf-8")):
        path, _, name = item.partition("::")
        current = path or current
        if current:
            references.append((current, name or None))
    return references


def functions_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def test_every_test_the_matrix_names_exists() -> None:
    missing = []
    for path, name in referenced_tests():
        file = ROOT / path
        if not file.is_file():
            missing.append(path)
        elif name is not None and name not in functions_in(file):
            missing.append(f"{path}::{name}")

    assert referenced_tests(), "the matrix names no tests"
    assert missing == []


def test_every_obligation_of_the_requirements_has_a_row() -> None:
    if not REQUIREMENTS.is_file():
        pytest.skip(f"{REQUIREMENTS} is absent: the ids cannot be compared")
    text = REQUIREMENTS.read_text(encoding="utf-8")
    required = {m.group(1) for line in text.splitlines() if (m := ROW_ID.match(line))}

    assert required, "no obligation ids found in REQUIREMENTS.md"
    assert sorted(required - matrix_ids()) == []


def test_the_matrix_has_no_row_twice() -> None:
    lines = MATRIX.read_text(encoding="utf-8").splitlines()
    ids = [m.group(1) for line in lines if (m := ROW_ID.match(line))]

    assert len(ids) == len(set(ids))
