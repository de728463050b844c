"""SSEDecoder: line ends, chunk boundaries anywhere, comments, multi-line data, EOF."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openresponses.providers.sse import ServerSentEvent, SSEDecoder
from tests.transcripts import chunks, load, transcript_ids


def decode(*pieces: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for piece in pieces:
        events += decoder.feed(piece)
    return events + decoder.close()


def decode_whole(body: bytes) -> list[ServerSentEvent]:
    return decode(body)


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending_style_gives_the_same_events(newline: bytes) -> None:
    body = b"event: a\ndata: 1\n\ndata: 2\n\n".replace(b"\n", newline)
    assert decode(body) == [ServerSentEvent("a", "1"), ServerSentEvent(None, "2")]


def test_crlf_split_between_cr_and_lf_is_one_line_end() -> None:
    events = decode(b"data: 1\r", b"\n\r", b"\ndata: 2\r\n\r\n")
    assert events == [ServerSentEvent(None, "1"), ServerSentEvent(None, "2")]


def test_multiple_data_lines_join_with_newline() -> None:
    assert decode(b"data: a\ndata:b\ndata:  c\n\n") == [ServerSentEvent(None, "a\nb\n c")]


def test_data_without_space_after_colon() -> None:
    assert decode(b'data:{"x":1}\n\n') == [ServerSentEvent(None, '{"x":1}')]


def test_comment_lines_are_ignored() -> None:
    body = b": OPENROUTER PROCESSING\n\n: ping\ndata: x\n: mid-event comment\n\n"
    assert decode(body) == [ServerSentEvent(None, "x")]


def test_events_without_data_are_skipped_and_reset_the_event_name() -> None:
    body = b"event: ping\n\nid: 7\nretry: 10\n\ndata: x\n\n"
    assert decode(body) == [ServerSentEvent(None, "x")]


def test_trailing_whitespace_after_json_is_kept() -> None:
    assert decode(b'data: {"a":1}   \n\n') == [ServerSentEvent(None, '{"a":1}   ')]


def test_a_utf8_character_split_across_chunks_is_decoded_whole() -> None:
    body = "data: héllo 😊\n\n".encode()
    split = body.index("😊".encode()) + 2
    assert decode(body[:split], body[split:]) == [ServerSentEvent(None, "héllo 😊")]


def test_a_complete_last_event_without_blank_line_is_delivered_at_close() -> None:
    assert decode(b"data: [DONE]\n") == [ServerSentEvent(None, "[DONE]")]


def test_an_unterminated_last_line_is_dropped_at_close() -> None:
    assert decode(b'data: {"a":1}\n\ndata: {"trunc') == [ServerSentEvent(None, '{"a":1}')]


def test_empty_chunks_change_nothing() -> None:
    assert decode(b"", b"data: 1\r", b"", b"\n\n", b"") == [ServerSentEvent(None, "1")]


def test_a_long_line_in_many_chunks() -> None:
    payload = b"x" * 100_000
    body = b"data: " + payload + b"\n\n"
    assert decode(*chunks(body, 1000)) == [ServerSentEvent(None, payload.decode())]


STREAMS = [i for i in transcript_ids() if load(i).stream and load(i).status == 200]


@pytest.mark.parametrize("transcript_id", STREAMS)
def test_recorded_stream_decodes_to_the_same_events_in_small_chunks(transcript_id: str) -> None:
    body = load(transcript_id).body
    whole = decode_whole(body)
    assert whole
    for size in (1, 2, 5, 13, 256):
        assert decode(*chunks(body, size)) == whole


@pytest.mark.parametrize("transcript_id", ["A05", "D10", "B08"])
def test_recorded_stream_split_at_every_byte_offset(transcript_id: str) -> None:
    body = load(transcript_id).body[:6000]
    whole = decode_whole(body)
    for offset in range(1, len(body)):
        assert decode(body[:offset], body[offset:]) == whole


def test_recorded_openrouter_stream_skips_its_comments() -> None:
    events = decode_whole(load("D10").body)
    assert all(e.data.startswith("{") or e.data == "[DONE]" for e in events)


def test_recorded_crlf_body_decodes_like_lf() -> None:
    body = load("B02").body
    assert decode(body.replace(b"\n", b"\r\n")) == decode_whole(body)


def events_one_per_chunk(body: bytes) -> list[bytes]:
    """``body`` cut after every blank line, as a provider's stream arrives one event a read."""
    pieces = body.split(b"\n\n")
    return [piece + b"\n\n" for piece in pieces[:-1]] + [pieces[-1]]


@pytest.mark.parametrize("transcript_id", STREAMS)
def test_recorded_stream_one_event_per_chunk_decodes_like_the_whole(transcript_id: str) -> None:
    body = load(transcript_id).body
    assert decode(*events_one_per_chunk(body)) == decode_whole(body)


_LINE_TEXT = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]))


@given(name=st.one_of(st.none(), _LINE_TEXT), data=_LINE_TEXT, state=st.sampled_from(
    [b"", b"event: earlier\n", b"data: earlier\n", b"data: cut", b"data: x\r"]))
def test_a_single_event_chunk_decodes_as_byte_by_byte(name: str | None, data: str,
                                                       state: bytes) -> None:
    chunk = (b"" if name is None else b"event: " + name.encode() + b"\n") + (
        b"data: " + data.encode() + b"\n\n")
    whole = SSEDecoder()
    whole_events = whole.feed(state) + whole.feed(chunk) + whole.close()
    assert whole_events == decode(state, *[chunk[i:i + 1] for i in range(len(chunk))])
