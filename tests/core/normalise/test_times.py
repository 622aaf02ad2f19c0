"""Reading CreationTime a chunk at a time gives what reading it value by value gives."""

from __future__ import annotations

import warnings

from hypothesis import given, settings
from hypothesis import strategies as st

from ualscope.core.normalise.times import parse_creation_time, parse_creation_times

_TIME_TEXTS = st.one_of(
    st.datetimes().map(lambda moment: moment.replace(microsecond=0).isoformat()),
    st.sampled_from(
        [
            "0000-01-01T00:00:00",  # numpy reads year 0; Python's dates do not
            "2025-03-04 09:15:02",  # a space for the T
            "2025-03-04T24:00:00",
            "2025-02-29T09:15:02",  # not a leap year
            "2024-02-29T09:15:02",
            "2025-03-04T09:15:60",  # a leap second
            "2025-03-04t09:15:02",
            "2025-W10-2T09:15:02",  # an ISO week date, as long as the schema's form
            "+2025-03-04T09:15",
            "2025-03-04T09:15:02Z",
            "２０２５-03-04T09:15:02",
            "2025-03-04T09+01:00",  # a time zone, which numpy warns about
            "2025-03-04T09:15:02",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TIME_TEXTS, min_size=1, max_size=12))
def test_creation_times_of_a_chunk_read_as_the_reference_reads_them(texts: list[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may reach a terminal from a load
        assert parse_creation_times(list(texts)) == [parse_creation_time(text) for text in texts]
