"""When a box's orders are made and delivered, as plain date arithmetic (no database).

A box runs on its cut-off weekday, from `starts_on`; a fortnightly box only on the cut-offs an even number of
weeks after `starts_on`. Each cut-off's delivery is the first `delivery_weekday` after it (1 to 7 days later).
"""
from datetime import date, timedelta

WEEKLY, FORTNIGHTLY = "weekly", "fortnightly"


def runs_on(*, day: date, cutoff_weekday: int, frequency: str, starts_on: date) -> bool:
    if day.weekday() != cutoff_weekday or day < starts_on:
        return False
    return frequency != FORTNIGHTLY or ((day - starts_on).days // 7) % 2 == 0


def delivery_after(cutoff: date, delivery_weekday: int) -> date:
    return cutoff + timedelta(days=(delivery_weekday - cutoff.weekday()) % 7 or 7)


def cutoffs_from(box, day: date, count: int = 1) -> list[date]:
    """The box's next `count` cut-off dates on or after `day`."""
    found: list[date] = []
    current = max(day, box.starts_on)
    while len(found) < count:
        if runs_on(day=current, cutoff_weekday=box.cutoff_weekday, frequency=box.frequency,
                   starts_on=box.starts_on):
            found.append(current)
            current += timedelta(days=7)
        else:
            current += timedelta(days=1)
    return found


def deliveries_from(box, day: date, count: int = 1) -> list[tuple[date, date]]:
    """(cut-off, delivery) of the box's next `count` deliveries whose cut-off is on or after `day`."""
    return [(cutoff, delivery_after(cutoff, box.delivery_weekday)) for cutoff in cutoffs_from(box, day, count)]


def cutoff_of(box, delivery: date, today: date, horizon: int = 12) -> date | None:
    """The cut-off of a coming delivery date of the box (None if it is not one within `horizon` deliveries)."""
    for cutoff, when in deliveries_from(box, today, horizon):
        if when == delivery:
            return cutoff
    return None
