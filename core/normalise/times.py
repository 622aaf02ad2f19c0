"""Record times: AuditData.CreationTime is UTC and authoritative; wrapper dates are a fallback.

CreationTime is written as `YYYY-MM-DDThh:mm:ss` with no zone (UTC by the schema); Defender's
RawEventData adds `Z`. Wrapper columns are worse: Export-Csv renders CreationDate in the
exporting machine's culture (`3/12/2025 7:31:34 AM` is 3 December in en-AU and 12 March in
en-US), so a wrapper date is used only when AuditData has no usable CreationTime, only when
its reading is unambiguous, and always with a note saying so.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# `\/Date(1728364117000)\/` from Windows PowerShell 5.1 ConvertTo-Json: ms since the epoch, UTC.
_MS_DATE = re.compile(r"^\\?/Date\((-?\d+)([+-]\d{4})?\)\\?/$")
# Culture-formatted dates: 5/29/2023 11:47:56 AM (en-US), 3/12/2025 7:31:34 AM (en-AU),
# 29.05.2023 11:47:56 (de-DE), 2023-05-29 11:47:56 (sv-SE, ISO-like with a space), and the
# Log Analytics portal's 3/28/2022, 10:04:17.000 AM.
_SLASH_DATE = re.compile(
    r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4}),?[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.,]\d+)?"
    r"\s*([AaPp][Mm])?$"
)


# Every time shown goes through datetime (to_iso), which ends at years 1 and 9999. A record
# time outside them (a CreationTime whose offset carries it past either end in UTC, such as
# `9999-12-31T23:59:59-14:00`, or a huge `\/Date(ms)\/`) used to load and then crash the
# report and the explorer: such a time is not usable, and the row is rejected saying so.
FIRST_EPOCH = -62_135_596_800  # 0001-01-01T00:00:00Z
LAST_EPOCH = 253_402_300_799  # 9999-12-31T23:59:59Z
# A `\/Date(ms)\/` of more digits than this is past year 9999 anyway; it is not handed to
# int(), which raises ValueError above 4,300 digits.
_MS_DIGITS = 16


def _in_range(epoch: int) -> int | None:
    return epoch if FIRST_EPOCH <= epoch <= LAST_EPOCH else None


def _shown(value: str) -> str:
    """A wrapper value quoted in a message, cut so that a hostile one cannot flood it."""
    return repr(value if len(value) <= 60 else value[:60] + "…")


def to_iso(epoch: int) -> str:
    """ISO 8601 UTC with `Z`, the one rendering used in every output."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(text: str) -> int:
    """Parse an ISO 8601 date or datetime given by a user (naive means UTC); raise ValueError."""
    parsed = datetime.fromisoformat(text.strip().replace(" ", "T"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


# Epoch seconds of midnight per `YYYY-MM-DD` seen: a case spans days, not millions of them.
_MIDNIGHTS: dict[str, int | None] = {}
_UNIX_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _midnight(day: str) -> int | None:
    found = _MIDNIGHTS.get(day, -1)
    if found != -1:
        return found
    try:
        epoch: int | None = (date.fromisoformat(day).toordinal() - _UNIX_EPOCH_ORDINAL) * 86_400
    except ValueError:
        epoch = None
    if len(_MIDNIGHTS) < 100_000:
        _MIDNIGHTS[day] = epoch
    return epoch


def parse_creation_time(value: object) -> int | None:
    """Epoch seconds from an AuditData CreationTime, or None when it is not a time."""
    if not isinstance(value, str):
        return None
    # The schema's own form, `2025-03-04T09:15:02`, on the fast path: a cached midnight plus
    # three integers costs a quarter of datetime.fromisoformat + timestamp().
    if len(value) == 19 and value[10] == "T" and value[13] == ":" and value[16] == ":":
        clock = value[11:13] + value[14:16] + value[17:19]
        midnight = _midnight(value[:10])
        if midnight is not None and clock.isdigit() and clock.isascii():
            hour, minute, second = int(clock[:2]), int(clock[2:4]), int(clock[4:])
            if hour < 24 and minute < 60 and second < 60:
                return midnight + hour * 3600 + minute * 60 + second
    text = value.strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # Seconds resolution: the schema writes whole seconds; a fraction (7 digits of zeros in
    # wrapper columns) carries nothing.
    return _in_range(int(parsed.timestamp()))


_ISO_SECONDS = 19  # len("2025-03-04T09:15:02"), the schema's CreationTime
_ISO_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
_ISO_MARKS = {4: "-", 7: "-", 10: "T", 13: ":", 16: ":"}


def _schema_form(values: list[Any]) -> bool:
    """Whether every value is `dddd-dd-ddTdd:dd:dd` in ASCII digits (checked by numpy)."""
    if set(map(type, values)) != {str} or set(map(len, values)) != {_ISO_SECONDS}:
        return False
    characters = np.array(values, dtype=f"<U{_ISO_SECONDS}").view(np.uint32)
    characters = characters.reshape(len(values), _ISO_SECONDS)
    digits = characters[:, _ISO_DIGITS]
    if not ((digits >= ord("0")) & (digits <= ord("9"))).all():
        return False
    return all((characters[:, at] == ord(mark)).all() for at, mark in _ISO_MARKS.items())


def parse_creation_times(values: list[Any]) -> list[int | None]:
    """`parse_creation_time` of each value (a chunk of records' CreationTimes).

    When every value has the schema's form, numpy reads them all in C (0.3 us a value
    against 1.0 us). Its reading is used only when writing it back gives the very same
    strings, so it read nothing the reference would not (a month 13 raises, an hour of 24
    does not write back); year 0000, which numpy reads and Python's dates refuse, goes the
    reference way too.
    """
    if _schema_form(values):
        try:
            parsed = np.array(values, dtype="datetime64[s]")
        except (ValueError, OverflowError):
            pass
        else:
            if np.datetime_as_string(parsed).tolist() == values and min(values) >= "0001":
                times: list[int | None] = parsed.astype(np.int64).tolist()
                return times
    return list(map(parse_creation_time, values))


class WrapperTime:
    """The reading of a wrapper date, or why it cannot be trusted."""

    __slots__ = ("epoch", "problem")

    def __init__(self, epoch: int | None, problem: str | None = None) -> None:
        self.epoch = epoch
        self.problem = problem


def _civil(year: int, month: int, day: int, hour: int, minute: int, second: int) -> int | None:
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
    return int(moment.timestamp())


def parse_wrapper_time(text: str, source: str, day_first: bool | None = None) -> WrapperTime:
    """Read a wrapper date. `day_first` is the order learned from this file's other rows."""
    value = text.strip()
    ms = _MS_DATE.match(value)
    if ms:
        digits = ms.group(1)
        fits = len(digits.lstrip("-")) <= _MS_DIGITS
        epoch = _in_range(int(digits) // 1000) if fits else None
        if epoch is None:
            return WrapperTime(None, f"{source} {_shown(value)} is not between years 1 and 9999")
        return WrapperTime(epoch)
    if re.match(r"^\d{4}-\d{2}-\d{2}", value):
        epoch = parse_creation_time(value.replace(" ", "T", 1))
        if epoch is None:
            return WrapperTime(None, f"{source} {value!r} is not a date")
        return WrapperTime(epoch)
    match = _SLASH_DATE.match(value)
    if not match:
        return WrapperTime(None, f"{source} {value!r} is not a date format ualscope knows")
    first, second, year, hour, minute, sec, ampm = match.groups()
    hour_n = int(hour)
    if ampm:
        hour_n = hour_n % 12 + (12 if ampm.lower() == "pm" else 0)
    a, b = int(first), int(second)
    if "." in value[:6]:
        day_first = True  # dotted dates (de-DE and friends) are always day first
    month_first = _civil(int(year), a, b, hour_n, int(minute), int(sec or 0))
    day_first_reading = _civil(int(year), b, a, hour_n, int(minute), int(sec or 0))
    if day_first is True:
        return _one(day_first_reading, source, value)
    if day_first is False:
        return _one(month_first, source, value)
    if month_first is not None and day_first_reading is not None and a != b:
        return WrapperTime(
            None,
            f"{source} {value!r} reads as month/day or day/month and this file gives no "
            "row to tell which; refusing to guess",
        )
    return _one(month_first if month_first is not None else day_first_reading, source, value)


def _one(epoch: int | None, source: str, value: str) -> WrapperTime:
    if epoch is None:
        return WrapperTime(None, f"{source} {value!r} is not a valid date")
    return WrapperTime(epoch)


def learn_day_first(text: str, creation_epoch: int) -> bool | None:
    """Which order makes a slash date equal to the record's CreationTime (to the minute)."""
    match = _SLASH_DATE.match(text.strip())
    if not match:
        return None
    first, second, year, hour, minute, sec, ampm = match.groups()
    a, b = int(first), int(second)
    if a == b:
        return None
    hour_n = int(hour)
    if ampm:
        hour_n = hour_n % 12 + (12 if ampm.lower() == "pm" else 0)
    month_first = _civil(int(year), a, b, hour_n, int(minute), int(sec or 0))
    day_first = _civil(int(year), b, a, hour_n, int(minute), int(sec or 0))
    if month_first is not None and abs(month_first - creation_epoch) < 60:
        return False
    if day_first is not None and abs(day_first - creation_epoch) < 60:
        return True
    return None
