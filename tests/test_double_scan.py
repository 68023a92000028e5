"""DoubleScanFilter: a re-fired code counts once; a deliberate re-scan counts again."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.double_scan import DoubleScanFilter

CODE = b"4006381333931"
OTHER = b"5901234123457"


def test_the_same_code_twice_within_the_window_counts_once() -> None:
    scans = DoubleScanFilter(window_s=0.3)
    assert scans.accept(CODE, at_s=10.0) is True
    assert scans.accept(CODE, at_s=10.1) is False


def test_the_same_code_after_the_window_is_a_deliberate_rescan() -> None:
    scans = DoubleScanFilter(window_s=0.25)
    assert scans.accept(CODE, at_s=10.0) is True
    assert scans.accept(CODE, at_s=10.25) is True
    assert scans.accept(CODE, at_s=11.0) is True


def test_a_different_code_is_always_accepted_however_fast() -> None:
    scans = DoubleScanFilter(window_s=0.3)
    assert [scans.accept(code, at_s=5.0) for code in (CODE, OTHER, CODE, OTHER)] == [True] * 4


def test_a_scanner_stuck_refiring_is_held_back_for_as_long_as_it_fires() -> None:
    scans = DoubleScanFilter(window_s=0.3)
    assert scans.accept(CODE, at_s=0.0) is True
    # Every 0.25 s for 2.5 seconds: each sighting restarts the window.
    refires = [scans.accept(CODE, at_s=0.25 * n) for n in range(1, 11)]
    assert refires == [False] * 10
    assert scans.accept(CODE, at_s=2.5 + 0.5) is True


def test_a_window_of_zero_turns_the_filter_off() -> None:
    scans = DoubleScanFilter(window_s=0)
    assert [scans.accept(CODE, at_s=1.0) for _ in range(3)] == [True, True, True]


def test_a_negative_window_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        DoubleScanFilter(window_s=-0.1)


@given(
    st.lists(
        st.tuples(st.sampled_from([CODE, OTHER, b"A"]), st.floats(0, 1)),
        min_size=1,
        max_size=40,
    ),
    st.floats(0, 0.5),
)
def test_only_a_repeat_of_the_previous_code_inside_the_window_is_rejected(
    steps: list[tuple[bytes, float]], window_s: float
) -> None:
    scans = DoubleScanFilter(window_s=window_s)
    at_s = 0.0
    previous: tuple[bytes, float] | None = None
    for frame, gap_s in steps:
        at_s += gap_s
        expected = not (
            window_s > 0
            and previous is not None
            and previous[0] == frame
            and at_s - previous[1] < window_s
        )
        assert scans.accept(frame, at_s) is expected
        previous = (frame, at_s)
