"""A part's dictionary codes: every code names the value it stands for, and values are
numbered 0..n-1 in the order they were first seen, however the chunks fall."""

from __future__ import annotations

import hostile_corpus as corpus
from hypothesis import given, settings
from hypothesis import strategies as st

from ualscope.core.index.part import STRING_FIELDS, PartBuilder
from ualscope.core.normalise.record import FileNormaliser


@settings(max_examples=60, deadline=None)
@given(
    users=st.lists(
        st.sampled_from(["", "a@x.example", "b@x.example", "c@x.example", "d"]),
        min_size=1,
        max_size=40,
    ),
    chunk=st.sampled_from([1, 2, 3, 7, 256]),
)
def test_codes_name_their_values_in_first_seen_order(users: list[str], chunk: int) -> None:
    normaliser = FileNormaliser()
    normaliser._learn_budget = 0
    builder = PartBuilder(0, normaliser)
    builder.CHUNK = chunk  # chunk boundaries anywhere among repeated and new values
    records = corpus.plain_records(1, len(users))
    for record, user in zip(records, users, strict=True):
        record["UserId"] = user
        record["MailboxOwnerUPN"] = user.upper()
    normalised = [normaliser.normalise(record, None) for record in records]
    for position, record in enumerate(normalised):
        builder.add(record, position + 1, position * 100, 100)
    part = builder.finish(len(records))

    table = part.values[STRING_FIELDS["user_id"]]
    assert list(part.codes["user_id"]) and [table[c] for c in part.codes["user_id"]] == [
        record.user_id for record in normalised
    ]
    assert [table[c] for c in part.codes["mailbox"]] == [record.mailbox for record in normalised]
    # "" first, each value once, and one column's values in the order they first came.
    assert table[0] == "" and len(table) == len(set(table))
    assert set(table) == {""} | {v for r in normalised for v in (r.user_id, r.mailbox)}
    users_in_table = [value for value in table if value in set(users) - {""}]
    assert users_in_table == list(dict.fromkeys(user for user in users if user))
