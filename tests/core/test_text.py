"""Splitting a long reply for a channel's message limit (Telegram 4,096, an X DM 10,000)."""

from hypothesis import given
from hypothesis import strategies as st

from bot.core.text import split_text


def test_short_text_stays_whole() -> None:
    assert split_text("short", 4096) == ["short"]
    assert split_text("x" * 10, 10) == ["x" * 10]
    assert split_text("", 10) == [""]


def test_cut_at_a_paragraph_break_before_a_line_break_or_a_space() -> None:
    text = "a" * 3000 + "\n\n" + "b b" * 300 + "\n" + "c" * 2000
    assert split_text(text, 4096) == ["a" * 3000, "b b" * 300 + "\n" + "c" * 2000]


def test_cut_at_a_line_break_before_a_space() -> None:
    lines = "\n".join(["line " * 100] * 12)  # 6,011 characters, lines of 500
    parts = split_text(lines, 4096)
    assert len(parts) == 2 and all(len(p) <= 4096 for p in parts)
    assert parts[0].count("\n") == 7 and all(p.endswith("line") for p in parts)


def test_cut_at_the_last_space_when_there_is_no_break() -> None:
    assert split_text("one two three four", 9) == ["one two", "three", "four"]
    assert split_text("one\ttwo", 5) == ["one", "two"]


def test_a_break_right_at_the_limit_leaves_a_full_piece() -> None:
    assert split_text("abcde fgh", 5) == ["abcde", "fgh"]


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    assert split_text("x" * 5000, 4096) == ["x" * 4096, "x" * 904]
    assert [len(p) for p in split_text("x" * 25, 10)] == [10, 10, 5]


WORDS = st.text(st.characters(blacklist_categories=("Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=12)
SPACES = st.sampled_from([" ", "  ", "\n", "\n\n", "\t", " \n"])


@given(
    words=st.lists(WORDS, max_size=60),
    spaces=st.lists(SPACES, min_size=60, max_size=60),
    limit=st.integers(12, 80),
)
def test_pieces_fit_and_give_back_the_words(words: list[str], spaces: list[str], limit: int) -> None:
    text = "".join(w + s for w, s in zip(words, spaces, strict=False))
    parts = split_text(text, limit)
    assert parts and all(len(p) <= limit for p in parts)
    assert all(p for p in parts) or parts == [""]
    assert " ".join(parts).split() == text.split()


@given(text=st.text(max_size=300), limit=st.integers(1, 50))
def test_any_text_loses_no_character_but_whitespace(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert parts and all(len(p) <= limit for p in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())
