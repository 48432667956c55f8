"""The clock people read: China Standard Time (Asia/Shanghai), UTC+8 all year, no daylight saving since 1991.

Instants are stored in UTC; every page, file and rule that speaks of a day (a label's validity, an audit period, a
verdict) means the Beijing calendar day, and every time shown to a person is in this zone, named."""

from datetime import UTC, date, datetime, timedelta, timezone

CHINA_TIME = timezone(timedelta(hours=8), "UTC+8")


def china_day(moment: datetime) -> date:
    """The Beijing calendar day of an instant (a naive instant is UTC): 2025-12-07T17:16Z is 2025-12-08."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(CHINA_TIME).date()
