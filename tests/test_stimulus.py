"""Chapter 1 text, sentence splitting and alignment of segments to the recorded word timings."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.data import stimulus
from helpers.data.stimulus import (
    AUDIO_END,
    StimulusError,
    align_segments,
    align_token_sequences,
    chapter_one_text,
    load_segments,
    load_word_timings,
    normalise_tokens,
    paper_segment_texts,
    split_sentences,
)

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


@pytest.fixture(autouse=True, scope="module")
def _mirror(tmp_path_factory):
    """Read external files from the reference mirror into a throw-away data home."""
    saved = {k: os.environ.get(k) for k in ("ALICE_MIRROR", "ALICE_DATA_HOME")}
    if not os.environ.get("ALICE_MIRROR"):
        if not REFERENCE.is_dir():
            pytest.skip(
                "no ALICE_MIRROR and no ../shared/reference: the stimulus files are unavailable"
            )
        os.environ["ALICE_MIRROR"] = str(REFERENCE)
    if not os.environ.get("ALICE_DATA_HOME"):
        os.environ["ALICE_DATA_HOME"] = str(tmp_path_factory.mktemp("data_home"))
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _book_text() -> str:
    from helpers.data.fetch import fetch

    return Path(fetch("gutenberg/alice.txt")).read_text(encoding="utf-8")


def _curly_edition(fulcrum_text: str) -> str:
    """The mirror's edition rewritten the way Gutenberg's current ebook #11 looks: licence header,
    a table of contents, curly quotes and apostrophes, underscores for emphasis."""
    body = fulcrum_text.replace("`", "\u201c").replace("'", "\u2019").replace("VERY", "_very_")
    header = (
        "\ufeffThe Project Gutenberg eBook of Alice's Adventures in Wonderland\n\n"
        "*** START OF THE PROJECT GUTENBERG EBOOK 11 ***\n\n"
        "Contents\n\n CHAPTER I.     Down the Rabbit-Hole\n CHAPTER II.    The Pool of Tears\n\n"
    )
    return header + body


@pytest.mark.parametrize("segmentation", ["sentences", "paper"])
def test_alignment_on_real_word_timings(segmentation):
    segments, report = load_segments(segmentation)
    onsets = np.array([s.onset for s in segments])
    offsets = np.array([s.offset for s in segments])
    assert np.all(np.diff(onsets) > 0), "segment onsets must strictly increase"
    assert onsets.min() >= 20.0 and offsets.max() <= 744.0
    assert np.all(offsets > onsets)
    assert np.all(onsets[1:] >= offsets[:-1] - 1e-9), "segments must not overlap"
    assert report.words_matched_fraction >= 0.98
    assert report.text_tokens_matched_fraction >= 0.98
    assert report.n_segments_interpolated == 0
    assert [s.index for s in segments] == list(range(len(segments)))
    # the first segment starts with the first spoken word, the last ends with "cake"
    words = load_word_timings()
    assert onsets[0] == pytest.approx(words["onset"].iloc[0])
    assert offsets[-1] == pytest.approx(words["offset"].iloc[-1])


def test_paper_segmentation_has_91_lines():
    texts = paper_segment_texts()
    assert len(texts) == 91
    assert texts[0].startswith("Alice was beginning")
    assert texts[-1].rstrip(",").endswith("when one eats cake")


def test_sentences_of_chapter_one():
    segments, _ = load_segments("sentences")
    texts = [s.text for s in segments]
    assert 50 <= len(texts) <= 120
    assert texts[0].startswith("Alice was beginning") and texts[0].endswith("conversation?'")
    assert texts[1].startswith("So she was considering")
    assert texts[-1].endswith("when one eats cake.")
    assert not any("CHAPTER" in t for t in texts)


def test_chapter_text_is_truncated_like_the_audio():
    text = chapter_one_text(_book_text())
    assert text.startswith("Alice was beginning to get very tired")
    assert text.endswith("eats cake.")
    assert "out-of-the-way things to happen" not in text  # the chapter's last, unread sentence
    assert "Down the Rabbit-Hole" not in text


def test_both_quote_styles_give_the_same_tokens():
    fulcrum = _book_text()
    old = chapter_one_text(fulcrum)
    new = chapter_one_text(_curly_edition(fulcrum))
    assert "\u201c" not in new and "\u2019" not in new and "_" not in new
    assert normalise_tokens(old) == normalise_tokens(new)
    assert len(split_sentences(old)) == len(split_sentences(new))


def test_curly_edition_aligns_as_well(monkeypatch):
    monkeypatch.setattr(
        stimulus, "load_chapter_text", lambda: chapter_one_text(_curly_edition(_book_text()))
    )
    texts = stimulus.segment_texts("sentences")
    segments, report = align_segments(texts, load_word_timings(), "sentences")
    assert report.words_matched_fraction >= 0.98
    assert np.all(np.diff([s.onset for s in segments]) > 0)


def test_split_sentences_keeps_speech_and_brackets_together():
    text = (
        "'Oh dear!' said Alice, 'I shall be late!' She ran. "
        "(Which was very likely true.) Then she stopped? 'Yes,' she said."
    )
    assert split_sentences(text) == [
        "'Oh dear!' said Alice, 'I shall be late!'",
        "She ran.",
        "(Which was very likely true.)",
        "Then she stopped?",
        "'Yes,' she said.",
    ]


def test_token_alignment_tolerates_contractions_hyphens_and_quotes():
    text = normalise_tokens(
        "\u201cI wouldn\u2019t say it to-night,\u201d she said; `what is the use?'"
    )
    spoken = [
        "I",
        "would",
        "nt",
        "say",
        "it",
        "tonight",
        "she",
        "said",
        "what",
        "\u2019s",
        "the",
        "use",
    ]
    spoken_tokens = ["".join(normalise_tokens(w)) for w in spoken]
    matches = align_token_sequences(text, spoken_tokens)
    assert (matches >= 0).all()
    assert text[matches[1]] == "wouldnt" and text[matches[2]] == "wouldnt"
    assert text[matches[5]] in ("to", "night")
    assert np.all(np.diff(matches) >= 0), "alignment must keep the order of the text"


def test_segment_missing_from_audio_is_interpolated_and_counted():
    words = pd.DataFrame(
        {
            "word": ["one", "two", "three", "four"],
            "onset": [1.0, 2.0, 5.0, 6.0],
            "offset": [1.5, 2.5, 5.5, 6.5],
        }
    )
    texts = ["One two.", "Zebra quantum xylophone.", "Three four."]
    segments, report = align_segments(texts, words)
    assert report.n_segments_interpolated == 1
    assert report.words_matched_fraction == 1.0
    assert segments[1].onset == pytest.approx(2.5) and segments[1].offset == pytest.approx(5.0)
    assert [s.onset for s in segments] == sorted(s.onset for s in segments)


def test_clitics_take_the_timing_of_their_host_word():
    words = load_word_timings()
    assert not words["timed"].all()
    assert words[["onset", "offset"]].notna().all().all()
    untimed = np.flatnonzero(~words["timed"].to_numpy())
    assert (words["onset"].to_numpy()[untimed] == words["onset"].to_numpy()[untimed - 1]).all()


def test_clear_errors_for_text_that_is_not_chapter_one():
    with pytest.raises(StimulusError, match="first words of chapter 1"):
        chapter_one_text("It was a dark and stormy night.")
    with pytest.raises(StimulusError, match=AUDIO_END):
        chapter_one_text("Alice was beginning to get very tired of sitting. The end.")
    with pytest.raises(StimulusError, match="unknown segmentation"):
        load_segments("paragraphs")
    with pytest.raises(StimulusError, match="no segment shares any word"):
        align_segments(["Zebra."], pd.DataFrame({"word": ["one"], "onset": [1.0], "offset": [2.0]}))
