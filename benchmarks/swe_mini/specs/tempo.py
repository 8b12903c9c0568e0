"""swe-mini tasks on the `tempo` repository (durations, intervals, calendars, recurrences)."""

from benchmarks.swe_mini.make_tasks import Spec

TASKS = [
    Spec(
        number=1,
        difficulty="easy",
        statement="""
parse_duration ignores days in ISO 8601 durations

```python
>>> parse_duration("P1DT2H")
datetime.timedelta(seconds=7200)
>>> parse_duration("P3D")
datetime.timedelta(0)
```

Expected 1 day 2 hours and 3 days. Weeks (`P2W`) and the time part work.
""",
        bug=[
            (
                "tempo/duration.py",
                "timedelta(weeks=weeks, days=days, hours=hours,",
                "timedelta(weeks=weeks, hours=hours,",
            )
        ],
        tests={
            "tests/test_duration.py": """
@pytest.mark.parametrize(
    "text, expected",
    [("P1DT2H", timedelta(days=1, hours=2)), ("P3D", timedelta(days=3)), ("-P1W2D", -timedelta(days=9))],
    ids=["days-and-hours", "days", "negative"],
)
def test_parse_iso_days(text, expected):
    assert parse_duration(text) == expected
"""
        },
    ),
    Spec(
        number=2,
        difficulty="easy",
        statement="""
format_duration of a negative duration is nonsense

```python
>>> format_duration(timedelta(minutes=-90))
'-1d 22h 30m'
```

should be `'-1h 30m'` (the docstring even lists `'-1h 30m'` as an example).
""",
        bug=[
            (
                "tempo/duration.py",
                """    sign = "-" if total < 0 else ""
    remaining = abs(total)
""",
                """    sign = "-" if total < 0 else ""
    remaining = total
""",
            )
        ],
        tests={
            "tests/test_duration.py": """
def test_format_negative_duration():
    assert format_duration(timedelta(minutes=-90)) == "-1h 30m"
    assert format_duration(-timedelta(days=2, seconds=1)) == "-2d 1s"
    assert parse_duration(format_duration(timedelta(minutes=-5))) == timedelta(minutes=-5)
"""
        },
    ),
    Spec(
        number=3,
        difficulty="medium",
        statement="""
merge() keeps back-to-back blocks separate

I build a person's busy time by merging their meetings. Two meetings 9:00-10:00 and
10:00-11:00 come back as two intervals instead of one 9:00-11:00 block, so my "longest
busy stretch" statistic is wrong. The docstring says touching intervals are merged.
""",
        bug=[
            (
                "tempo/interval.py",
                "if merged and current.start <= merged[-1].end:",
                "if merged and current.start < merged[-1].end:",
            )
        ],
        tests={
            "tests/test_interval.py": """
def test_merge_touching():
    assert merge([iv(10, 11), iv(9, 10), iv(11, 12), iv(14, 15)]) == [iv(9, 12), iv(14, 15)]
"""
        },
    ),
    Spec(
        number=4,
        difficulty="medium",
        statement="""
Back-to-back bookings are reported as conflicts

Our room booking service uses `Interval.overlaps` to reject conflicting bookings. A
booking from 10:00 to 11:00 is rejected because someone else has the room from 09:00 to
10:00. Intervals are supposed to be half-open, so these don't share any time.
`intersection` then returns an empty interval instead of None for them.
""",
        bug=[
            (
                "tempo/interval.py",
                "return self.start < other.end and other.start < self.end",
                "return self.start <= other.end and other.start <= self.end",
            )
        ],
        tests={
            "tests/test_interval.py": """
def test_touching_intervals_do_not_overlap():
    assert not iv(9, 10).overlaps(iv(10, 11))
    assert not iv(10, 11).overlaps(iv(9, 10))
    assert iv(9, 10).intersection(iv(10, 11)) is None
    assert iv(9, 11).overlaps(Interval(at(10), at(10, 30)))
"""
        },
    ),
    Spec(
        number=5,
        difficulty="easy",
        statement="""
add_months crashes at the end of the month

```
Traceback (most recent call last):
  File "billing.py", line 54, in next_invoice_date
    return add_months(last_invoice, 1)
  File ".../tempo/calendar.py", line 62, in add_months
    return day.replace(year=year, month=month + 1, day=day.day)
ValueError: day is out of range for month
```

`last_invoice` was `date(2024, 1, 31)`. I'd expect 29 Feb 2024, as the docstring says.
""",
        bug=[
            (
                "tempo/calendar.py",
                "return day.replace(year=year, month=month + 1, day=min(day.day, last))",
                "return day.replace(year=year, month=month + 1, day=day.day)",
            )
        ],
        tests={
            "tests/test_calendar.py": """
def test_add_months_clamps_to_month_end():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2024, 5, 31), -1) == date(2024, 4, 30)
""",
            "tests/test_recurrence.py": """
def test_monthly_on_the_31st():
    days = list(Rule("monthly", count=4).occurrences(date(2024, 1, 31)))
    assert days == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]
""",
        },
    ),
    Spec(
        number=6,
        difficulty="medium",
        statement="""
add_business_days with a negative count goes forward

I need "3 business days before the deadline":

```python
>>> add_business_days(date(2024, 5, 10), -3)
datetime.date(2024, 5, 15)
```

That's *after* the deadline. Should be 7 May 2024 (Tuesday).
""",
        bug=[("tempo/calendar.py", "    step = 1 if count >= 0 else -1\n", "    step = 1\n")],
        tests={
            "tests/test_calendar.py": """
def test_add_business_days_backwards():
    assert add_business_days(date(2024, 5, 10), -3) == date(2024, 5, 7)
    assert add_business_days(date(2024, 5, 6), -1) == date(2024, 5, 3)  # Mon - 1 -> Fri
    assert add_business_days(date(2024, 5, 2), -1, holidays={MAY_1}) == date(2024, 4, 30)
"""
        },
    ),
    Spec(
        number=7,
        difficulty="hard",
        statement="""
Free-slot finder suggests times when I'm busy

We use `gaps()` to propose meeting times. With an all-day workshop and a short call inside
it, it proposes slots in the middle of the workshop. It also sometimes proposes a slot
that starts before the day I asked for. Calendars that don't overlap work fine.
""",
        bug=[
            (
                "tempo/interval.py",
                """    for block in merge(busy):
        if block.end <= cursor:
            continue
        if block.start >= within.end:
            break
        if block.start > cursor:
            free.append(Interval(cursor, block.start))
        cursor = max(cursor, block.end)
""",
                """    for block in sorted(busy):
        if block.start >= within.end:
            break
        if block.start > cursor:
            free.append(Interval(cursor, block.start))
        cursor = block.end
""",
            )
        ],
        tests={
            "tests/test_interval.py": """
def test_gaps_with_nested_busy_blocks():
    workshop, call = iv(9, 17), iv(10, 11)
    assert gaps([call, workshop], iv(8, 18)) == [iv(8, 9), iv(17, 18)]


def test_gaps_ignore_blocks_before_the_window():
    assert gaps([iv(6, 7), iv(12, 13)], iv(8, 18)) == [iv(8, 12), iv(13, 18)]
"""
        },
    ),
    Spec(
        number=8,
        difficulty="hard",
        statement="""
Events at the boundary show up twice

An event at exactly 10:00 appears both in my 9-10 slot and in my 10-11 slot. Same with
recurring events: asking for the occurrences between Monday and the next Monday includes
the next Monday too, so the weekly view shows it twice. The README says all intervals
are half-open.
""",
        bug=[
            (
                "tempo/interval.py",
                "return self.start <= point < self.end",
                "return self.start <= point <= self.end",
            ),
            (
                "tempo/recurrence.py",
                "            if occurrence >= window_end:\n                break\n",
                "            if occurrence > window_end:\n                break\n",
            ),
        ],
        tests={
            "tests/test_interval.py": """
def test_contains_is_half_open():
    assert iv(9, 10).contains(at(9))
    assert not iv(9, 10).contains(at(10))
    assert iv(10, 11).contains(at(10))
""",
            "tests/test_recurrence.py": """
def test_between_excludes_window_end():
    rule = Rule("weekly", byweekday=["mon"])
    assert rule.between(date(2024, 5, 6), date(2024, 5, 6), date(2024, 5, 13)) == [date(2024, 5, 6)]
    hourly = Rule("daily")
    start = datetime(2024, 5, 1, 10)
    assert hourly.between(start, datetime(2024, 5, 1), datetime(2024, 5, 2, 10)) == [start]
""",
        },
    ),
    Spec(
        number=9,
        difficulty="medium",
        statement="""
split_by_day fails with timezone-aware datetimes

```python
>>> from zoneinfo import ZoneInfo
>>> tz = ZoneInfo("Europe/Berlin")   # same with datetime.timezone.utc
>>> Interval(datetime(2024, 5, 6, 22, tzinfo=tz), datetime(2024, 5, 7, 3, tzinfo=tz)).split_by_day()
Traceback (most recent call last):
  ...
  File ".../tempo/interval.py", line 54, in split_by_day
    pieces.append(Interval(cursor, min(midnight, self.end)))
TypeError: can't compare offset-naive and offset-aware datetimes
```

The README says timezone-aware datetimes keep their tzinfo.
""",
        bug=[
            (
                "tempo/interval.py",
                "datetime.combine(cursor.date() + timedelta(days=1), time(), tzinfo=cursor.tzinfo)",
                "datetime.combine(cursor.date() + timedelta(days=1), time())",
            )
        ],
        tests={
            "tests/test_interval.py": """
def test_split_by_day_keeps_timezone():
    from datetime import timezone

    tz = timezone(timedelta(hours=2))
    trip = Interval(datetime(2024, 5, 6, 22, tzinfo=tz), datetime(2024, 5, 7, 3, tzinfo=tz))
    pieces = trip.split_by_day()
    assert pieces == [
        Interval(datetime(2024, 5, 6, 22, tzinfo=tz), datetime(2024, 5, 7, tzinfo=tz)),
        Interval(datetime(2024, 5, 7, tzinfo=tz), datetime(2024, 5, 7, 3, tzinfo=tz)),
    ]
    assert all(p.start.tzinfo is tz for p in pieces)
"""
        },
    ),
]
