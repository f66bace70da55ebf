"""Working days as the business's country has them (SPEC §4: a replacement card after N working days).

China moves working days around its public holidays (a Saturday worked before Golden Week, a weekday off
in it); the maintained `chinese-calendar` package holds the State Council's published calendar as two
tables: public holidays (`holidays`) and weekend days worked in their place (`workdays`). A year it does not
list yet (the calendar is published each winter) counts Monday to Friday: update the package every December.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar

from tenants.domain.dates import WorkCalendar

SPAN = dt.timedelta(days=120)  # more than any replacement delay, Golden Week included


def work_calendar(start: dt.date, end: dt.date | None = None) -> WorkCalendar:
    """China's weekday holidays and weekend working days from `start` to `end` (default `start` + 120 days)."""
    end = end or start + SPAN
    holidays = frozenset(day for day in chinese_calendar.holidays if start <= day <= end and day.weekday() < 5)
    workdays = frozenset(day for day in chinese_calendar.workdays if start <= day <= end and day.weekday() >= 5)
    return WorkCalendar(holidays, workdays)
