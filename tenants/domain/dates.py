"""Calendar arithmetic for rules: months that clamp the day, half-open periods, working days.

All functions take dates as parameters; the domain never reads the clock (SPEC §19.1).
"""

from __future__ import annotations

import calendar
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, clamping the day to the month's last day.

    2026-01-31 + 1 month = 2026-02-28 (§19.8: month arithmetic clamps the day).
    """
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def add_days(day: date, days: int) -> date:
    """``day`` moved by ``days`` calendar days."""
    return day + timedelta(days=days)


def in_half_open(day: date, start: date, end: date | None) -> bool:
    """Whether ``day`` lies in the period [start, end); an open end means "for ever"."""
    return start <= day and (end is None or day < end)


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are working days: Monday to Friday, less public ``holidays``, plus adjusted ``workdays``
    (weekend days worked to make up for a holiday, as the Chinese State Council's calendar has them)."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        return day in self.workdays or (day.weekday() < 5 and day not in self.holidays)


MONDAY_TO_FRIDAY = WorkCalendar()


def is_working_day(day: date, holidays: Collection[date] = (), calendar: WorkCalendar | None = None) -> bool:
    """Monday to Friday and not a listed public holiday (or as ``calendar`` says)."""
    return (calendar or WorkCalendar(frozenset(holidays))).is_working_day(day)


def working_days_between(start: date, end: date, holidays: Collection[date] = (),
                         calendar: WorkCalendar | None = None) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end`` ≤ ``start``)."""
    calendar = calendar or WorkCalendar(frozenset(holidays))
    count = 0
    day = start + timedelta(days=1)
    while day <= end:
        count += calendar.is_working_day(day)
        day += timedelta(days=1)
    return count


def add_working_days(start: date, days: int, holidays: Collection[date] = (),
                     calendar: WorkCalendar | None = None) -> date:
    """The date on which ``days`` working days have passed after ``start``."""
    calendar = calendar or WorkCalendar(frozenset(holidays))
    day = start
    while days > 0:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            days -= 1
    return day


EARLIEST_BIRTHDAY = date(1900, 1, 1)


def is_plausible_birthday(birthday: date, today: date) -> bool:
    """A person's birthday: not in the future, and not before 1900 (a typo such as 0199 or 2199)."""
    return EARLIEST_BIRTHDAY <= birthday <= today


def birthday_in_year(birthday: date, year: int) -> date:
    """The member's birthday in ``year``; 29 February falls on 28 February in other years (§19.12)."""
    if birthday.month == 2 and birthday.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return birthday.replace(year=year)
