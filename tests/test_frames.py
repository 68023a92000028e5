"""FrameAssembler: cutting the scanner's bytes into scans, with bounded memory."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.devices.frames import FrameAssembler

CODE = b"4006381333931"
OTHER = b"5901234123457"


def line_frames(max_frame_bytes: int = 32, stale_line_s: float | None = None) -> FrameAssembler:
    return FrameAssembler(
        frame_end="line",
        max_frame_bytes=max_frame_bytes,
        idle_gap_s=0.05,
        stale_line_s=stale_line_s,
    )


def idle_frames(max_frame_bytes: int = 32) -> FrameAssembler:
    return FrameAssembler(frame_end="idle", max_frame_bytes=max_frame_bytes, idle_gap_s=0.05)


@pytest.mark.parametrize("terminator", [b"\r", b"\n", b"\r\n"])
def test_a_line_ends_at_cr_lf_or_crlf_and_the_terminator_is_stripped(terminator: bytes) -> None:
    frames = line_frames()
    assert frames.feed(CODE + terminator + OTHER + terminator, at_s=1.0) == [CODE, OTHER]
    assert frames.pending_bytes == 0


def test_crlf_split_across_two_reads_is_one_terminator() -> None:
    frames = line_frames()
    assert frames.feed(CODE + b"\r", at_s=1.0) == [CODE]
    assert frames.feed(b"\n" + OTHER + b"\r", at_s=1.01) == [OTHER]
    assert frames.feed(b"\n", at_s=1.02) == []


def test_empty_lines_are_never_frames() -> None:
    frames = line_frames()
    assert frames.feed(b"\r\n\n\r\r\n\n" + CODE + b"\n\n\r", at_s=1.0) == [CODE]


def test_a_frame_fed_byte_by_byte_comes_out_whole_once() -> None:
    frames = line_frames()
    out: list[bytes] = []
    for index, byte in enumerate(CODE + b"\r\n" + OTHER + b"\r\n"):
        out += frames.feed(bytes([byte]), at_s=index * 0.001)
    assert out == [CODE, OTHER]


def test_binary_junk_with_nul_and_ff_ending_in_a_terminator_does_not_touch_the_next_frame() -> None:
    frames = line_frames()
    junk = b"\x00\xff\xfe\x00\x1b[2J\xff"
    assert frames.feed(junk + b"\r" + CODE + b"\r\n", at_s=1.0) == [junk, CODE]


def test_an_overlong_line_is_dropped_and_counted_and_the_next_line_arrives() -> None:
    frames = line_frames(max_frame_bytes=16)
    assert frames.feed(b"9" * 17 + b"\r\n" + CODE + b"\r\n", at_s=1.0) == [CODE]
    assert frames.dropped_frames == 1


def test_a_line_of_exactly_the_maximum_length_is_kept() -> None:
    frames = line_frames(max_frame_bytes=len(CODE))
    assert frames.feed(CODE + b"\n", at_s=1.0) == [CODE]
    assert frames.dropped_frames == 0


def test_a_flood_of_garbage_without_a_terminator_never_grows_the_buffer() -> None:
    frames = line_frames(max_frame_bytes=64)
    for chunk in range(2000):
        assert frames.feed(bytes(range(256)).replace(b"\r", b"").replace(b"\n", b""), chunk) == []
        assert frames.pending_bytes <= 64
    assert frames.dropped_frames == 1
    assert frames.feed(b"\r" + CODE + b"\r", at_s=3000.0) == [CODE]


def test_a_stale_partial_line_is_dropped_so_it_does_not_glue_onto_the_next_scan() -> None:
    frames = line_frames(stale_line_s=0.5)
    assert frames.feed(b"\x00\xff", at_s=1.0) == []
    assert frames.flush_if_idle(at_s=1.4) is None
    assert frames.pending_bytes == 2
    assert frames.flush_if_idle(at_s=1.5) is None
    assert frames.pending_bytes == 0
    assert frames.stale_partials == 1
    assert frames.feed(CODE + b"\r", at_s=3.0) == [CODE]


def test_silence_ends_the_discarding_of_an_overlong_line_when_stale_lines_are_dropped() -> None:
    frames = line_frames(max_frame_bytes=8, stale_line_s=0.5)
    frames.feed(b"x" * 100, at_s=1.0)
    frames.flush_if_idle(at_s=2.0)
    assert frames.feed(b"12345\r", at_s=3.0) == [b"12345"]
    assert frames.dropped_frames == 1


def test_without_a_stale_limit_a_partial_line_waits_for_its_terminator() -> None:
    frames = line_frames()
    frames.feed(b"4006", at_s=1.0)
    assert frames.flush_if_idle(at_s=100.0) is None
    assert frames.feed(b"381333931\r", at_s=100.5) == [CODE]


def test_an_idle_frame_ends_only_after_the_idle_gap() -> None:
    frames = idle_frames()
    assert frames.feed(CODE, at_s=1.0) == []
    assert frames.flush_if_idle(at_s=1.049) is None
    assert frames.flush_if_idle(at_s=1.05) == CODE
    assert frames.flush_if_idle(at_s=2.0) is None


def test_an_idle_frame_split_across_reads_is_one_frame() -> None:
    frames = idle_frames()
    for index, byte in enumerate(CODE):
        frames.feed(bytes([byte]), at_s=1.0 + index * 0.01)
        assert frames.flush_if_idle(at_s=1.0 + index * 0.01 + 0.005) is None
    assert frames.flush_if_idle(at_s=2.0) == CODE


def test_idle_mode_keeps_cr_and_lf_as_data() -> None:
    frames = idle_frames()
    frames.feed(CODE + b"\r\n", at_s=1.0)
    assert frames.flush_if_idle(at_s=1.1) == CODE + b"\r\n"


def test_an_overlong_idle_frame_is_dropped_until_the_line_goes_quiet() -> None:
    frames = idle_frames(max_frame_bytes=16)
    frames.feed(b"\x00" * 10, at_s=1.0)
    frames.feed(b"\xff" * 10, at_s=1.01)
    frames.feed(b"\xff" * 10, at_s=1.02)
    assert frames.pending_bytes == 0
    assert frames.flush_if_idle(at_s=1.1) is None
    assert frames.dropped_frames == 1
    frames.feed(CODE, at_s=2.0)
    assert frames.flush_if_idle(at_s=2.1) == CODE


def test_reset_in_line_mode_drops_the_partial_line() -> None:
    frames = line_frames()
    frames.feed(b"40063", at_s=1.0)
    assert frames.reset() is None
    assert frames.feed(OTHER + b"\r", at_s=2.0) == [OTHER]


def test_reset_in_idle_mode_returns_the_scan_pending_at_the_unplug() -> None:
    frames = idle_frames()
    frames.feed(CODE, at_s=1.0)
    assert frames.reset() == CODE
    assert frames.reset() is None
    assert frames.flush_if_idle(at_s=5.0) is None


def test_a_lone_lf_after_reset_is_not_mistaken_for_the_tail_of_a_crlf() -> None:
    frames = line_frames()
    frames.feed(CODE + b"\r", at_s=1.0)
    frames.reset()
    assert frames.feed(b"\n" + OTHER + b"\n", at_s=2.0) == [OTHER]


@pytest.mark.parametrize(
    ("frame_end", "max_frame_bytes", "idle_gap_s"),
    [("crlf", 16, 0.05), ("line", 0, 0.05), ("idle", 16, 0.0)],
)
def test_impossible_settings_are_refused(
    frame_end: str, max_frame_bytes: int, idle_gap_s: float
) -> None:
    with pytest.raises(ValueError):
        FrameAssembler(frame_end=frame_end, max_frame_bytes=max_frame_bytes, idle_gap_s=idle_gap_s)


codes = st.binary(min_size=1, max_size=20).filter(lambda b: b"\r" not in b and b"\n" not in b)


@given(
    st.lists(codes, min_size=1, max_size=10),
    st.lists(st.sampled_from([b"\r", b"\n", b"\r\n"]), min_size=10, max_size=10),
    st.lists(st.integers(1, 7), min_size=1, max_size=50),
)
def test_any_split_of_terminated_lines_yields_exactly_those_lines(
    lines: list[bytes], terminators: list[bytes], chunk_sizes: list[int]
) -> None:
    stream = b"".join(line + end for line, end in zip(lines, terminators, strict=False))
    frames = line_frames(max_frame_bytes=20)
    out: list[bytes] = []
    position = 0
    turn = 0
    while position < len(stream):
        size = chunk_sizes[turn % len(chunk_sizes)]
        out += frames.feed(stream[position : position + size], at_s=turn * 0.001)
        position += size
        turn += 1
    assert out == lines


@given(st.lists(st.binary(max_size=300), max_size=30), st.integers(1, 64))
def test_the_buffer_never_exceeds_the_maximum_whatever_arrives(
    chunks: list[bytes], max_frame_bytes: int
) -> None:
    for frame_end in ("line", "idle"):
        frames = FrameAssembler(
            frame_end=frame_end, max_frame_bytes=max_frame_bytes, idle_gap_s=0.05
        )
        for turn, chunk in enumerate(chunks):
            for frame in frames.feed(chunk, at_s=turn * 0.01):
                assert 0 < len(frame) <= max_frame_bytes
            assert frames.pending_bytes <= max_frame_bytes
