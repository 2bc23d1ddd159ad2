"""Vietnam's working-day calendar: weekends, public holidays and Tết, per year."""

import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from importlib import resources

logger = logging.getLogger(__name__)

VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")  # no daylight saving time
HOLIDAY_STATUSES = ("statutory", "announced", "derived", "assumption")


@dataclass(frozen=True)
class Holiday:
    day: date
    name_vi: str
    name_en: str
    status: str


class WorkingDays:
    """Counts working days on the holiday files shipped in `domain/holidays`.

    A year without a file counts weekends only and says so in `calendar_for`,
    so a deadline is never pushed later by a guess.
    """

    def __init__(self, holidays: list[Holiday], years: set[int]) -> None:
        self.holidays = {holiday.day: holiday for holiday in holidays}
        self.years = frozenset(years)

    @classmethod
    def vietnam(cls) -> "WorkingDays":
        holidays: list[Holiday] = []
        years: set[int] = set()
        folder = resources.files("domain").joinpath("holidays")
        for item in sorted(folder.iterdir(), key=lambda i: i.name):
            if item.name.startswith("vn-") and item.name.endswith(".json"):
                content = json.loads(item.read_text(encoding="utf-8"))
                years.add(int(content["year"]))
                holidays += [_holiday(day) for day in content["days"]]
        return cls(holidays, years)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, count: int) -> date:
        """The `count`-th working day after `start` (the day itself not counted)."""
        day = start
        while count > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count -= 1
        return day

    def calendar_for(self, start: date, end: date) -> str:
        """Names the calendar a count over [start, end] used, for the record."""
        missing = sorted(set(range(start.year, end.year + 1)) - self.years)
        if missing:
            logger.warning("no holiday file for %s: counting weekends only", missing)
            return "vn: weekends only for " + ", ".join(map(str, missing))
        return "vn: " + ", ".join(map(str, range(start.year, end.year + 1)))


def vietnam_date(moment: datetime) -> date:
    """The calendar date in Vietnam at `moment` (UTC+7)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VIETNAM_TIME).date()


def _holiday(entry: dict[str, str]) -> Holiday:
    if entry["status"] not in HOLIDAY_STATUSES:
        raise ValueError(f"holiday {entry['date']}: unknown status {entry['status']!r}")
    return Holiday(
        date.fromisoformat(entry["date"]),
        entry["name_vi"],
        entry["name_en"],
        entry["status"],
    )
