"""Message ids held as keys: texts re-read from the evidence equal texts kept in memory.

A large case keeps no message id text in memory (index/messages.py); it re-reads the
records that hold them. Loading the sample case (nine shapes, UTF-16 and JSON among them)
both ways and comparing everything that shows a message id proves the re-reading finds the
same text for every message, and that the report does not change with the case's size.
"""

from __future__ import annotations

from array import array
from pathlib import Path

import pytest
from conftest import SAMPLE_CASE
from hypothesis import given, settings
from hypothesis import strategies as st

from ualscope.cli import main as cli
from ualscope.core.analysis.comparison import compare
from ualscope.core.analysis.contexts import access_contexts
from ualscope.core.analysis.send_as import (
    SendKind,
    classify_sends,
    message_id_of,
    send_as_findings,
)
from ualscope.core.index import messages
from ualscope.core.index.messages import message_key, message_keys, normalise_message_id
from ualscope.core.ingest.loader import LoadResult, load
from ualscope.core.query import evaluate, parse_query

SUSPECT_IP = "203.0.113.45"


def load_both(monkeypatch: pytest.MonkeyPatch) -> tuple[LoadResult, LoadResult]:
    in_memory = load([SAMPLE_CASE], workers=1)
    monkeypatch.setattr(messages, "TEXTS_IN_MEMORY", 0)
    on_disk = load([SAMPLE_CASE], workers=1)
    return in_memory, on_disk


def test_the_sample_case_keeps_texts_in_memory_unless_told_not_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    in_memory, on_disk = load_both(monkeypatch)
    assert in_memory.index.messages.in_memory
    assert not on_disk.index.messages.in_memory
    assert len(in_memory.index.messages) == len(on_disk.index.messages) > 300


def test_every_items_text_is_re_read_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    in_memory, on_disk = load_both(monkeypatch)
    a, b = in_memory.index, on_disk.index
    rows = [row for row in range(len(a)) if a.item_count(row)]
    assert len(rows) > 100
    for row in rows:
        assert list(a.items(row)) == list(b.items(row))
    # Every code, asked together, as the comparison and the scope ask.
    codes = list(range(1, len(a.messages)))
    assert a.messages.texts(codes) == b.messages.texts(codes)
    assert all(b.messages.texts(codes))  # none unreadable, none missing


def test_contexts_and_comparisons_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    in_memory, on_disk = load_both(monkeypatch)
    first, second = access_contexts(in_memory.index), access_contexts(on_disk.index)
    assert [c.id for c in first] == [c.id for c in second]
    assert [c.messages for c in first] == [c.messages for c in second]
    assert [c.message_count for c in first] == [len(c.messages) for c in second]
    busiest = sorted(range(len(first)), key=lambda n: -first[n].message_count)[:3]
    left = compare(in_memory.index, [first[n] for n in busiest])
    right = compare(on_disk.index, [second[n] for n in busiest])
    assert left.messages == right.messages
    assert len(left.messages) > 10


def test_message_lookup_ignores_brackets_and_case_on_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    _, on_disk = load_both(monkeypatch)
    index = on_disk.index
    row = next(r for r in range(len(index)) if index.item_count(r))
    recorded = next(m for m, _, _ in index.items(row) if m)
    bare = normalise_message_id(recorded).upper()
    assert row in evaluate(index, parse_query(f"msg:{bare}")).tolist()
    assert row in evaluate(index, parse_query(f"msg:<{bare}>")).tolist()
    assert index.messages.code_of("<never-seen@fabrikam.example>") is None


def test_the_report_is_byte_identical_either_way(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    outputs = []
    for limit in (messages.TEXTS_IN_MEMORY, 0):
        monkeypatch.setattr(messages, "TEXTS_IN_MEMORY", limit)
        for form in ("markdown", "json"):
            out = tmp_path / f"{limit}.{form}"
            args = ["report", str(SAMPLE_CASE), "--suspect-ip", SUSPECT_IP, "--format", form]
            cli([*args, "--output", str(out)])
            outputs.append(out.read_bytes())
    assert outputs[0] == outputs[2]
    assert outputs[1] == outputs[3]
    assert b"InternetMessageId" in outputs[1] or b"internet_message_id" in outputs[1]


def test_a_changed_evidence_file_gives_a_marker_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import shutil

    case = tmp_path / "case"
    shutil.copytree(SAMPLE_CASE, case)
    monkeypatch.setattr(messages, "TEXTS_IN_MEMORY", 0)
    index = load([case], workers=1).index
    row = next(r for r in range(len(index)) if index.item_count(r))
    (case / index.files[int(index.file[row])].path.split("case/", 1)[1]).unlink()
    shown = [m for m, _, _ in index.items(row)]
    assert shown and all("not re-readable" in m for m in shown if m)


def test_keys_ignore_brackets_and_case_and_keep_zero_for_no_message() -> None:
    assert message_key("<ABC@x.example>") == message_key("abc@x.example") != 0
    assert message_key("") == message_key("  ") == message_key("<>") == 0
    assert message_key("<a@x>") != message_key("<b@x>")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.just(""),
            st.sampled_from([" ", "<>", " < > ", "<ABC@x.example>", "abc@x.example", "\ud800"]),
            st.text(alphabet=st.sampled_from("<> aB@.\t\u00c4\u0130\ud83d"), max_size=12),
            st.text(max_size=40),
        ),
        max_size=30,
    )
)
def test_keys_of_a_column_are_each_ids_key(recorded: list[str]) -> None:
    keys = array("Q")
    keys.frombytes(message_keys(recorded))
    assert keys.tolist() == [message_key(value) for value in recorded]


def test_a_digest_of_zeros_is_not_taken_for_the_empty_id(monkeypatch: pytest.MonkeyPatch) -> None:
    class Zeros:
        def copy(self) -> Zeros:
            return self

        def update(self, data: bytes) -> None:
            pass

        def digest(self) -> bytes:
            return bytes(8)

    monkeypatch.setattr(messages, "_BLAKE2B_8", Zeros())
    keys = array("Q")
    keys.frombytes(message_keys(["", "<a@x>", " ", "b@x"]))
    assert keys.tolist() == [0, 1, 0, 1]


def test_sends_read_only_the_message_ids_their_findings_cite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Owner artefacts (thousands in a large case) are not re-read one by one; every send's
    text is still there when a screen asks for it, and findings cite the same ids."""
    in_memory, on_disk = load_both(monkeypatch)
    reread = on_disk.index.reread
    assert reread is not None
    calls: list[int] = []

    def counted(row: int) -> dict[str, object]:
        calls.append(row)
        return reread(row)

    on_disk.index.reread = counted
    expected = classify_sends(in_memory.index)
    got = classify_sends(on_disk.index)
    kinds = {send.classification for send in got}
    assert SendKind.OWNER_LOGGED_AS_SEND_AS in kinds and SendKind.DELEGATE_SEND_AS in kinds
    assert len(calls) == sum(s.classification != SendKind.OWNER_LOGGED_AS_SEND_AS for s in got)
    for mine, theirs in zip(got, expected, strict=True):
        assert message_id_of(on_disk.index, mine) == theirs.message_id != ""
        if mine.classification is SendKind.OWNER_LOGGED_AS_SEND_AS:
            assert mine.message_id == ""
        else:
            assert mine.message_id == theirs.message_id
    assert send_as_findings(got) == send_as_findings(expected)
