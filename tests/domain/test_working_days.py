"""The Vietnamese working-day calendar that acknowledgment deadlines count on."""

import json
from datetime import UTC, date, datetime
from importlib import resources

import pytest

from domain.working_days import HOLIDAY_STATUSES, WorkingDays, vietnam_date


@pytest.fixture(scope="module")
def calendar() -> WorkingDays:
    return WorkingDays.vietnam()


def test_holiday_files_ship_for_2026_and_2027(calendar: WorkingDays) -> None:
    assert {2026, 2027} <= calendar.years


def test_every_holiday_says_where_its_date_comes_from() -> None:
    folder = resources.files("domain").joinpath("holidays")
    for item in folder.iterdir():
        if item.name.endswith(".json"):
            content = json.loads(item.read_text(encoding="utf-8"))
            assert set(content["status_meaning"]) == set(HOLIDAY_STATUSES)
            for day in content["days"]:
                assert day["status"] in HOLIDAY_STATUSES, day
                assert date.fromisoformat(day["date"]).year == content["year"]


def test_tet_2026_follows_the_announced_schedule(calendar: WorkingDays) -> None:
    tet = [calendar.holidays[date(2026, 2, d)] for d in range(14, 23)]

    assert all(h.status == "announced" for h in tet)
    assert calendar.is_working_day(date(2026, 2, 13))
    assert not calendar.is_working_day(date(2026, 2, 16))
    assert calendar.is_working_day(date(2026, 2, 23))


@pytest.mark.requirement("DSR-ACCESS")
def test_two_working_days_skip_tet(calendar: WorkingDays) -> None:
    # Received on Friday 13 Feb 2026, the last working day before Tết.
    assert calendar.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)


def test_two_working_days_skip_the_weekend(calendar: WorkingDays) -> None:
    assert calendar.add_working_days(date(2026, 12, 4), 2) == date(2026, 12, 8)


def test_two_working_days_skip_reunification_and_labour_day(
    calendar: WorkingDays,
) -> None:
    # Wed 29 Apr 2026: Thu 30/4 and Fri 1/5 are holidays, then the weekend.
    assert calendar.add_working_days(date(2026, 4, 29), 2) == date(2026, 5, 5)


def test_hung_kings_day_on_a_sunday_is_made_up_on_monday(
    calendar: WorkingDays,
) -> None:
    assert not calendar.is_working_day(date(2026, 4, 27))


def test_national_day_has_two_days_off(calendar: WorkingDays) -> None:
    assert not calendar.is_working_day(date(2026, 9, 2))
    assert not calendar.is_working_day(date(2026, 9, 1))
    assert not calendar.is_working_day(date(2027, 9, 2))


def test_tet_2027_is_marked_as_an_assumption(calendar: WorkingDays) -> None:
    assert calendar.holidays[date(2027, 2, 8)].status == "assumption"
    assert not calendar.is_working_day(date(2027, 2, 9))


def test_a_year_without_a_file_counts_weekends_only_and_says_so(
    calendar: WorkingDays,
) -> None:
    start = date(2031, 1, 2)

    due = calendar.add_working_days(start, 2)

    assert due == date(2031, 1, 6)
    assert "weekends only for 2031" in calendar.calendar_for(start, due)


def test_the_date_is_taken_in_vietnam_time() -> None:
    assert vietnam_date(datetime(2026, 12, 4, 18, 30, tzinfo=UTC)) == date(2026, 12, 5)
