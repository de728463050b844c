"""``errors.shown``: a client's string quoted in a message, a log line or a header."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from openresponses.errors import shown


def test_control_and_non_ascii_characters_become_question_marks() -> None:
    assert shown("web\r\nX-Evil: 1") == "web??X-Evil: 1"
    assert shown("caf\u00e9 \U0001f600") == "caf? ?"


def test_a_long_string_is_cut_with_an_ellipsis() -> None:
    assert shown("y" * 65) == "y" * 64 + "..."
    assert shown("y" * 64) == "y" * 64
    assert shown("abcdef", limit=3) == "abc..."


@given(st.text())
def test_what_it_gives_is_short_printable_ascii(value: str) -> None:
    quoted = shown(value)
    assert len(quoted) <= 67
    assert all(" " <= c <= "~" for c in quoted)
