"""Client addresses: one spelling per machine, and the dotted-quad shortcut reads as
ipaddress does."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ualscope.core.normalise.addresses import _is_dotted_quad, normalise_address

_PART = st.one_of(
    st.integers(0, 999).map(str),
    st.sampled_from(["00", "01", "007", "256", "", "-1", "1 ", "١", "²", "0x1", "+1"]),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_PART, min_size=3, max_size=5).map(".".join))
def test_a_dotted_quad_is_taken_as_written_only_where_ipaddress_writes_it_so(text: str) -> None:
    try:
        written = str(ipaddress.ip_address(text))
    except ValueError:
        written = None
    assert _is_dotted_quad(text) == (written == text)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("203.0.113.7:51234", "203.0.113.7"),
        ("[2001:DB8::7]:443", "2001:db8::7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("2001:0db8:0000::0007", "2001:db8::7"),
        ("203.000.113.7", "203.000.113.7"),  # not an address ipaddress reads: kept, lower-cased
        ("HOST.example", "host.example"),
        ("", ""),
    ],
)
def test_every_spelling_of_a_machine_becomes_one(raw: str, expected: str) -> None:
    assert normalise_address(raw) == expected
