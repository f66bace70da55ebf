"""Working days as the business's country has them (SPEC §4: a replacement card after N working days).

China moves working days around its public holidays (a Saturday worked before Golden Week, a weekday off
in it); the maintained `chinese-calendar` package holds the State Council's published calendar. Years it
does not know yet count Monday to Friday.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar

from tenants.domain.dates import WorkCalendar

SPAN = dt.timedelta(days=120)  # more than any replacement delay, Golden Week included


def work_calendar(start: dt.date, end: dt.date | None = None) -> WorkCalendar:
    """China's weekday holidays and weekend working days from `start` to `end` (default `start` + 120 days)."""
    end = end or start + SPAN
    holidays, workdays = set(), set()
    day = start
    while day <= end:
        try:
            working = chinese_calendar.is_workday(day)
        except NotImplementedError:  # a year not yet published: Monday to Friday
            working = day.weekday() < 5
        if working and day.weekday() >= 5:
            workdays.add(day)
        elif not working and day.weekday() < 5:
            holidays.add(day)
        day += dt.timedelta(days=1)
    return WorkCalendar(frozenset(holidays), frozenset(workdays))
