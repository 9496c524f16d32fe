"""An offline annotator: words of the NRC emotion lexicon, counted per segment.

Each token of a segment is looked up in the NRC Word-Emotion Association Lexicon shipped in the
``nrclex`` wheel (fed with our own tokens through ``load_token_list``: its raw-text path needs NLTK
downloads). A segment's score for an emotion is the share of its words associated with that
emotion, pooled over a window of the current and preceding segments: single sentences hold few
emotion words, and pooling turns a spiky count into a trajectory a listener could plausibly
follow. Shares are in [0, 1] by construction (a word counts at most once per emotion).
"""

from __future__ import annotations

import re
from functools import lru_cache

import nrclex
import numpy as np
import pandas as pd
from nrclex import NRCLex

from helpers.annotation.base import Annotation, Segment
from helpers.study import EMOTIONS

_WORDS = re.compile(r"[a-z]+(?:'[a-z]+)?")

# suffix -> replacements tried in order, for words the lexicon only lists in their base form
_SUFFIX_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("'s", ("",)),
    ("iest", ("y",)),
    ("ier", ("y",)),
    ("ies", ("y",)),
    ("ied", ("y",)),
    ("ily", ("y",)),
    ("ing", ("", "e")),
    ("ed", ("", "e")),
    ("es", ("", "e")),
    ("est", ("", "e")),
    ("er", ("", "e")),
    ("ly", ("",)),
    ("s", ("",)),
)


@lru_cache(maxsize=1)
def nrc_lexicon() -> dict[str, frozenset[str]]:
    """The NRC lexicon of the ``nrclex`` wheel restricted to the eight emotions."""
    analyser = NRCLex(None)
    raw: dict[str, list[str]] = analyser.__lexicon__
    keep = set(EMOTIONS)
    return {word: frozenset(e for e in emotions if e in keep) for word, emotions in raw.items()}


def tokenise(text: str) -> list[str]:
    """Lower-case word tokens; curly apostrophes count as apostrophes, hyphens split words."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'").lower()
    return _WORDS.findall(text)


def lexicon_form(token: str, lexicon: dict[str, frozenset[str]] | None = None) -> str:
    """The form under which ``token`` appears in the lexicon (``cried`` -> ``cry``), else itself.

    A light suffix stripper instead of a lemmatiser keeps the annotator offline and dependency
    free; a candidate is used only if the lexicon knows it, so unknown words stay unknown.
    """
    lexicon = nrc_lexicon() if lexicon is None else lexicon
    if token in lexicon:
        return token
    for suffix, replacements in _SUFFIX_RULES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            stem = token[: -len(suffix)]
            for replacement in replacements:
                candidate = stem + replacement
                if candidate in lexicon:
                    return candidate
            doubled = len(stem) >= 4 and stem[-1] == stem[-2]  # "stopped" -> "stop"
            if suffix in ("ing", "ed", "er", "est") and doubled and stem[:-1] in lexicon:
                return stem[:-1]
    return token


def emotion_word_counts(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per text: counts of words associated with each emotion (n, 8) and number of words (n,)."""
    lexicon = nrc_lexicon()
    analyser = NRCLex(None)
    counts = np.zeros((len(texts), len(EMOTIONS)))
    n_words = np.zeros(len(texts))
    for i, text in enumerate(texts):
        tokens = tokenise(text)
        n_words[i] = len(tokens)
        analyser.load_token_list([lexicon_form(t, lexicon) for t in tokens])
        for j, emotion in enumerate(EMOTIONS):
            counts[i, j] = analyser.raw_emotion_scores.get(emotion, 0)
    return counts, n_words


def pooled_shares(counts: np.ndarray, n_words: np.ndarray, window: int) -> np.ndarray:
    """Share of emotion words pooled over each segment and the ``window - 1`` before it."""
    if window < 1:
        raise ValueError(f"the smoothing window must be at least 1 segment, got {window}")
    kernel = np.ones(window)
    pooled_counts = np.stack(
        [np.convolve(counts[:, j], kernel)[: len(counts)] for j in range(counts.shape[1])], axis=1
    )
    pooled_words = np.convolve(n_words, kernel)[: len(n_words)]
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(pooled_words[:, None] > 0, pooled_counts / pooled_words[:, None], 0.0)
    return np.clip(shares, 0.0, 1.0)


class LexiconAnnotator:
    """Scores segments by the share of NRC emotion words, pooled over preceding segments."""

    name = "lexicon"

    def __init__(self, smoothing: int = 3) -> None:
        if smoothing < 1:
            raise ValueError(
                f"annotation.lexicon_smoothing must be at least 1 (1 = no pooling), got {smoothing}"
            )
        self.smoothing = smoothing

    def annotate(self, segments: list[Segment]) -> Annotation:
        if not segments:
            raise ValueError("no segments to annotate")
        texts = [s.text for s in segments]
        counts, n_words = emotion_word_counts(texts)
        shares = pooled_shares(counts, n_words, self.smoothing)
        scores = pd.DataFrame(
            shares,
            columns=list(EMOTIONS),
            index=pd.Index([s.index for s in segments], name="segment"),
        )
        provenance = {
            "annotator": self.name,
            "lexicon": f"NRC Word-Emotion Association Lexicon (nrclex {nrclex.__version__})",
            "smoothing_segments": self.smoothing,
            "n_words": int(n_words.sum()),
            "n_emotion_words": {e: int(c) for e, c in zip(EMOTIONS, counts.sum(axis=0))},
        }
        return Annotation(scores=scores, provenance=provenance)
