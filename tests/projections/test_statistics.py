"""Small groups are suppressed so that no person can be singled out."""

from collections import Counter

import pytest

from projections.statistics import suppress


@pytest.mark.requirement("AGGREGATES-ONLY")
def test_groups_under_the_threshold_are_hidden() -> None:
    groups = suppress(Counter(lead=9, prospect=3, customer=2), min_group=5)

    assert {g.value: g.count for g in groups} == {
        "customer": None,
        "lead": 9,
        "prospect": None,
    }


@pytest.mark.requirement("AGGREGATES-ONLY")
def test_a_lone_hidden_group_hides_the_next_smallest_too() -> None:
    groups = suppress(Counter(lead=9, prospect=6, customer=2), min_group=5)

    assert {g.value: g.count for g in groups} == {
        "customer": None,
        "lead": 9,
        "prospect": None,
    }


def test_groups_at_the_threshold_are_shown() -> None:
    groups = suppress(Counter(lead=5, prospect=5), min_group=5)

    assert [g.count for g in groups] == [5, 5]
