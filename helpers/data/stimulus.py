"""The story as heard in the scanner: chapter 1 of *Alice*, cut into segments timed on the audio.

The text comes from Project Gutenberg ebook #11 (or the paper authors' 90-odd segments) and the
timing from ds002322's ``code/annotations.tsv``, which gives every spoken word an onset and offset
in seconds of the audio. The two do not agree token for token: the transcript spells ``wouldn't``
as ``would nt``, ``to-night`` as ``tonight``, ``upon`` as ``up on``, uses ``center`` for ``centre``
and stops at "...when one eats cake", two sentences before the chapter ends. Segments are
therefore placed on the audio by a sequence alignment of normalised tokens (case, punctuation,
quote marks and hyphens removed), refined at character level inside the stretches where whole
tokens disagree. Each segment's onset and offset are those of the first and last spoken word
aligned to it.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from helpers.data.fetch import fetch

STORY_START = "Alice was beginning to get very tired"
"""First words of chapter 1; everything before them (licence, contents, title) is front matter."""

AUDIO_END = "when one eats cake"
"""Last words read in the recording; the chapter's two remaining sentences are not in the audio."""

MAX_CHARACTER_REFINE_TOKENS = 12
"""Stretches of disagreeing tokens longer than this are left unmatched instead of being aligned
letter by letter: a long stretch means missing text, where letter matches would be coincidences."""

Segmentation = Literal["sentences", "paper"]

_QUOTE_MAP = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "`": "'"})
_TOKEN_PIECES = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Segment:
    """A piece of the story with its place in the audio (seconds)."""

    index: int
    text: str
    onset: float
    offset: float


class StimulusError(ValueError):
    """The stimulus text or word timings do not look like chapter 1 of Alice."""


# --------------------------------------------------------------------------------------- text
def normalise_quotes(text: str) -> str:
    """Map curly quotes and the backtick-style opening quote of old editions to ASCII quotes."""
    return text.translate(_QUOTE_MAP)


def chapter_one_text(book_text: str) -> str:
    """Chapter 1 as read in the recording: from its first words to "...when one eats cake".

    Works on both editions of ebook #11 (the Millennium Fulcrum 2.9 text with ```...'`` quotes and
    the current one with curly quotes), with or without Gutenberg's front matter. Line breaks and
    runs of spaces become single spaces; quotes become ASCII.
    """
    flat = " ".join(normalise_quotes(book_text).split())
    flat = flat.replace("_", "")  # emphasis markers of the plain-text edition
    start = flat.find(STORY_START)
    if start < 0:
        raise StimulusError(
            f"the book text does not contain the first words of chapter 1 ({STORY_START!r}); "
            "is gutenberg/alice.txt really Project Gutenberg ebook #11?"
        )
    end_match = re.search(r"\s+".join(AUDIO_END.split()), flat[start:])
    if end_match is None:
        raise StimulusError(
            f"the book text has no {AUDIO_END!r} after the start of chapter 1; the audio stops there, "
            "so the text cannot be truncated to match it"
        )
    return flat[start : start + end_match.end()] + "."


def load_chapter_text() -> str:
    """Chapter 1 text from the book file of the data layer, truncated like the audio."""
    path = fetch("gutenberg/alice.txt")
    return chapter_one_text(Path(path).read_text(encoding="utf-8-sig"))


_SENTENCE_END = re.compile(
    r"""(?<=[.!?])          # a sentence-final mark
        ['")\]]*            # possibly followed by closing quotes or brackets
        \s+                 # then a space
        (?=['"(\[]*[A-Z])   # and a capitalised word, possibly after opening quotes
    """,
    re.VERBOSE,
)


def split_sentences(text: str) -> list[str]:
    """Split text into sentences at ``. ! ?`` (plus closing quotes) followed by a capital letter.

    Chapter 1 has no abbreviations with full stops, so this simple rule is exact here; speech
    inside a sentence (``said Alice``) stays attached because it continues in lower case.
    """
    pieces: list[str] = []
    last = 0
    for match in _SENTENCE_END.finditer(text):
        # keep closing quotes with the sentence they close
        cut = match.start() + len(match.group(0).rstrip())
        pieces.append(text[last:cut].strip())
        last = match.end()
    pieces.append(text[last:].strip())
    return [p for p in pieces if p]


def paper_segment_texts() -> list[str]:
    """The paper authors' segments: one per non-empty line of their ``alice.txt``.

    The file holds 91 lines (90 line breaks: the last line is not terminated, so ``wc -l`` says 90).
    """
    raw = Path(fetch("emotional-decoding-2025/alice.txt")).read_text(encoding="utf-8-sig")
    lines = [" ".join(normalise_quotes(line).split()) for line in raw.splitlines()]
    return [line for line in lines if line]


def segment_texts(segmentation: Segmentation = "sentences") -> list[str]:
    """Segment texts for a segmentation scheme (``sentences`` of the book, or the ``paper``'s)."""
    if segmentation == "sentences":
        return split_sentences(load_chapter_text())
    if segmentation == "paper":
        return paper_segment_texts()
    raise StimulusError(f"unknown segmentation {segmentation!r}; allowed: sentences, paper")


# ------------------------------------------------------------------------------ word timings
def load_word_timings() -> pd.DataFrame:
    """Spoken words with onset and offset (s of the audio), from ds002322 ``code/annotations.tsv``.

    The transcript splits contractions (``would`` + ``nt``, ``they`` + ``ll``) and leaves the
    clitic untimed; such a word takes the timing of the word it is attached to (``timed`` False).
    """
    table = pd.read_csv(fetch("ds002322/code/annotations.tsv"), sep="\t", keep_default_na=False)
    needed = {"Words", "Word Onset", "Word Offset"}
    if not needed <= set(table.columns):
        raise StimulusError(
            f"annotations.tsv lacks columns {sorted(needed - set(table.columns))}; expected the "
            "ds002322 v1.0.4 file with 'Words', 'Word Onset', 'Word Offset'"
        )
    onsets = pd.to_numeric(table["Word Onset"].replace("", np.nan), errors="coerce")
    offsets = pd.to_numeric(table["Word Offset"].replace("", np.nan), errors="coerce")
    timed = onsets.notna() & offsets.notna()
    if not timed.iloc[0]:
        raise StimulusError("the first word of annotations.tsv has no onset; the file is damaged")
    words = pd.DataFrame(
        {
            "word": table["Words"].astype(str),
            "onset": onsets.ffill().to_numpy(float),
            "offset": offsets.ffill().to_numpy(float),
            "timed": timed.to_numpy(bool),
        }
    )
    if (np.diff(words["onset"].to_numpy()) < 0).any():
        raise StimulusError("word onsets in annotations.tsv are not in time order")
    return words


# --------------------------------------------------------------------------------- alignment
def normalise_tokens(text: str) -> list[str]:
    """Lower-case alphanumeric tokens; apostrophes vanish (``don't`` -> ``dont``), hyphens split."""
    lowered = normalise_quotes(text).lower().replace("'", "")
    return _TOKEN_PIECES.findall(lowered)


@dataclass
class AlignmentReport:
    """How well the segment text and the spoken words agree."""

    segmentation: str
    n_segments: int
    n_words: int
    n_words_matched: int
    n_text_tokens: int
    n_text_tokens_matched: int
    n_segments_interpolated: int
    unmatched_words: list[str] = field(default_factory=list)

    @property
    def words_matched_fraction(self) -> float:
        """Fraction of spoken words assigned to a segment."""
        return self.n_words_matched / self.n_words if self.n_words else 0.0

    @property
    def text_tokens_matched_fraction(self) -> float:
        """Fraction of segment tokens that found a spoken word."""
        return self.n_text_tokens_matched / self.n_text_tokens if self.n_text_tokens else 0.0

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "segmentation": self.segmentation,
            "n_segments": self.n_segments,
            "n_words": self.n_words,
            "n_words_matched": self.n_words_matched,
            "words_matched_fraction": round(self.words_matched_fraction, 4),
            "n_text_tokens": self.n_text_tokens,
            "text_tokens_matched_fraction": round(self.text_tokens_matched_fraction, 4),
            "n_segments_interpolated": self.n_segments_interpolated,
        }


def align_token_sequences(text_tokens: list[str], spoken_tokens: list[str]) -> np.ndarray:
    """For each spoken token, the index of the text token it corresponds to, or -1.

    Whole tokens are aligned first (longest common blocks, as ``difflib``). Inside each stretch
    where they disagree (``would nt`` against ``wouldnt``, ``tonight`` against ``to night``) the
    letters are aligned, and a spoken token is matched to the text token holding most of its
    aligned letters, provided at least half of its letters align.
    """
    matches = np.full(len(spoken_tokens), -1, dtype=int)
    matcher = difflib.SequenceMatcher(None, text_tokens, spoken_tokens, autojunk=False)
    for tag, t0, t1, s0, s1 in matcher.get_opcodes():
        if tag == "equal":
            matches[s0:s1] = np.arange(t0, t1)
        elif tag == "replace" and max(t1 - t0, s1 - s0) <= MAX_CHARACTER_REFINE_TOKENS:
            matches[s0:s1] = _align_letters(text_tokens, t0, t1, spoken_tokens, s0, s1)
    return matches


def _align_letters(
    text_tokens: list[str], t0: int, t1: int, spoken_tokens: list[str], s0: int, s1: int
) -> np.ndarray:
    text_letters = "".join(text_tokens[t0:t1])
    text_owner = np.repeat(np.arange(t0, t1), [len(t) for t in text_tokens[t0:t1]])
    spoken_letters = "".join(spoken_tokens[s0:s1])
    spoken_owner = np.repeat(np.arange(s1 - s0), [len(t) for t in spoken_tokens[s0:s1]])
    votes: list[Counter] = [Counter() for _ in range(s1 - s0)]
    letter_matcher = difflib.SequenceMatcher(None, text_letters, spoken_letters, autojunk=False)
    for a, b, size in letter_matcher.get_matching_blocks():
        for k in range(size):
            votes[spoken_owner[b + k]][int(text_owner[a + k])] += 1
    out = np.full(s1 - s0, -1, dtype=int)
    for j, vote in enumerate(votes):
        n_letters = len(spoken_tokens[s0 + j])
        if vote and sum(vote.values()) * 2 >= n_letters:
            out[j] = vote.most_common(1)[0][0]
    return out


def align_segments(
    texts: list[str], words: pd.DataFrame, segmentation: str = "custom"
) -> tuple[list[Segment], AlignmentReport]:
    """Place each segment text on the audio using the spoken words' timings.

    A segment runs from the onset of its first aligned spoken word to the offset of its last.
    A segment with no aligned word (text absent from the recording) gets the silent interval
    between its neighbours and is counted in the report.
    """
    if not texts:
        raise StimulusError("no segment texts to align")
    text_tokens: list[str] = []
    token_segment: list[int] = []
    for i, text in enumerate(texts):
        tokens = normalise_tokens(text)
        text_tokens.extend(tokens)
        token_segment.extend([i] * len(tokens))
    spoken_tokens = ["".join(normalise_tokens(w)) for w in words["word"]]
    matches = align_token_sequences(text_tokens, spoken_tokens)

    matched = matches >= 0
    word_segment = np.where(matched, np.asarray(token_segment)[np.maximum(matches, 0)], -1)
    onsets = np.full(len(texts), np.nan)
    offsets = np.full(len(texts), np.nan)
    word_onsets = words["onset"].to_numpy(float)
    word_offsets = words["offset"].to_numpy(float)
    for i in range(len(texts)):
        mine = np.flatnonzero(word_segment == i)
        if mine.size:
            onsets[i] = word_onsets[mine].min()
            offsets[i] = word_offsets[mine].max()
    n_interpolated = _fill_unaligned(
        onsets, offsets, float(word_onsets[0]), float(word_offsets[-1])
    )

    segments = [
        Segment(index=i, text=text, onset=float(onsets[i]), offset=float(offsets[i]))
        for i, text in enumerate(texts)
    ]
    report = AlignmentReport(
        segmentation=segmentation,
        n_segments=len(texts),
        n_words=len(words),
        n_words_matched=int(matched.sum()),
        n_text_tokens=len(text_tokens),
        n_text_tokens_matched=len(np.unique(matches[matched])),
        n_segments_interpolated=n_interpolated,
        unmatched_words=[str(w) for w in words["word"].to_numpy()[~matched]],
    )
    return segments, report


def _fill_unaligned(onsets: np.ndarray, offsets: np.ndarray, start: float, end: float) -> int:
    """Give segments without aligned words the gap between their neighbours (in place)."""
    missing = np.flatnonzero(np.isnan(onsets))
    if missing.size == len(onsets):
        raise StimulusError(
            "no segment shares any word with the recording's transcript; is the text chapter 1?"
        )
    for run in np.split(missing, np.flatnonzero(np.diff(missing) > 1) + 1):
        if run.size == 0:
            continue
        before = offsets[run[0] - 1] if run[0] > 0 else start
        after = onsets[run[-1] + 1] if run[-1] + 1 < len(onsets) else end
        edges = np.linspace(before, max(after, before), run.size + 1)
        onsets[run] = edges[:-1]
        offsets[run] = edges[1:]
    return int(missing.size)


@lru_cache(maxsize=4)
def _cached_segments(segmentation: str) -> tuple[tuple[Segment, ...], AlignmentReport]:
    segments, report = align_segments(
        segment_texts(segmentation), load_word_timings(), segmentation
    )
    return tuple(segments), report


def load_segments(
    segmentation: Segmentation = "sentences",
) -> tuple[list[Segment], AlignmentReport]:
    """Segments of chapter 1 with onset/offset on the audio, and how well the alignment went.

    Parameters
    ----------
    segmentation : {"sentences", "paper"}, optional
        The story's sentences, or the authors' 91 lines.

    Returns
    -------
    segments : list of Segment
        ``index``, ``text``, ``onset`` and ``offset`` (s of the audio) of each segment.
    report : AlignmentReport
        How many of the text's tokens and the spoken words were matched.
    """
    if segmentation not in ("sentences", "paper"):
        raise StimulusError(f"unknown segmentation {segmentation!r}; allowed: sentences, paper")
    segments, report = _cached_segments(segmentation)
    return list(segments), report


def segments_frame(segments: list[Segment]) -> pd.DataFrame:
    """Segments as a table (index, onset, offset, duration, text) for display.

    Parameters
    ----------
    segments : list of Segment
        The segments.

    Returns
    -------
    pandas.DataFrame
        One row per segment (index ``segment``): ``onset``, ``offset``, ``duration`` (s) and
        ``text``.
    """
    frame = pd.DataFrame(
        {
            "onset": [s.onset for s in segments],
            "offset": [s.offset for s in segments],
            "text": [s.text for s in segments],
        },
        index=pd.Index([s.index for s in segments], name="segment"),
    )
    frame.insert(2, "duration", frame["offset"] - frame["onset"])
    return frame
