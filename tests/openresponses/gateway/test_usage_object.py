"""``usage_object`` and ``usage_of``: a model's ``Usage`` as the Responses ``usage`` object and
back (an automatic compaction's call is counted in its response's usage through them)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from openresponses.gateway.response_object import add_usage, usage_object, usage_of
from openresponses.schema.model_events import Usage

counts = st.integers(min_value=0, max_value=10**9)
usages = st.builds(Usage, input_tokens=counts, output_tokens=counts, cached_tokens=counts,
                   reasoning_tokens=counts, cache_write_tokens=counts)


@given(usages)
def test_usage_of_reads_back_what_usage_object_wrote(usage: Usage) -> None:
    assert usage_of(usage_object(usage)) == usage


def test_details_left_out_count_as_none() -> None:
    bare = {"input_tokens": 30, "output_tokens": 6, "total_tokens": 36}
    assert usage_of(bare) == Usage(input_tokens=30, output_tokens=6)
    summed = usage_object(add_usage(usage_of(bare), Usage(input_tokens=4, output_tokens=1)))
    assert (summed["input_tokens"], summed["output_tokens"], summed["total_tokens"]) == (34, 7, 41)
