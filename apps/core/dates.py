from __future__ import annotations

import datetime as dt
import zoneinfo

from dateutil.relativedelta import relativedelta


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """Calendar months; the 31st of January plus one month is the 28th (or 29th) of February."""
    return moment + relativedelta(months=months)


def whole_months_between(start: dt.datetime, end: dt.datetime) -> int:
    """Months from start to end, a started month counting as a whole one; 0 if end <= start."""
    if end <= start:
        return 0
    delta = relativedelta(end, start)
    months = delta.years * 12 + delta.months
    if start + relativedelta(months=months) < end:
        months += 1
    return months


def zone_named(name: str) -> dt.tzinfo:
    """The reseller's time zone; UTC for a name the system does not know."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC
