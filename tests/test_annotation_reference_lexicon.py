"""The reference and lexicon annotators, and the factory that picks and caches annotators."""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pandas as pd
import pytest

import helpers.annotation as annotation_pkg
from helpers.annotation import (
    Annotation,
    Segment,
    annotate,
    emotion_scores,
    llm_available,
    make_annotator,
    segment_times,
)
from helpers.annotation.lexicon import LexiconAnnotator, lexicon_form, pooled_shares, tokenise
from helpers.annotation.reference import (
    ReferenceAnnotator,
    ReferenceDataError,
    load_reference_labels,
    timestamp_check,
)
from helpers.config import Params
from helpers.data.stimulus import load_segments
from helpers.study import EMOTIONS

pytestmark = pytest.mark.usefixtures("fresh_data_home")


def _segments(*texts: str) -> list[Segment]:
    return [
        Segment(index=i, text=t, onset=10.0 * i, offset=10.0 * i + 8) for i, t in enumerate(texts)
    ]


# ---------------------------------------------------------------------------------- reference
def test_reference_labels_map_one_to_one_to_the_authors_lines():
    segments, _ = load_segments("paper")
    result = ReferenceAnnotator().annotate(segments)
    scores = emotion_scores(result)
    assert scores.shape == (91, 8)
    assert list(scores.columns) == list(EMOTIONS)
    assert scores.to_numpy().min() >= 0 and scores.to_numpy().max() <= 1
    np.testing.assert_array_equal(scores.to_numpy(), load_reference_labels().to_numpy())
    # every published timestamp is the aligned end of its line rounded up to the 2-s grid
    check = timestamp_check(segments)
    assert (check["timestamp_minus_rounded_offset"].abs() < 1e-9).all()
    assert ((check["timestamp_minus_offset"] >= 0) & (check["timestamp_minus_offset"] < 2)).all()
    assert result.provenance["timestamps_equal_rounded_aligned_offsets"] == 91
    onsets, offsets = segment_times(result)
    np.testing.assert_array_equal(onsets[1:], offsets[:-1])  # held back to back
    assert onsets[0] == pytest.approx(20.12, abs=0.01) and offsets[-1] == 744.0
    assert result.scores["text"].iloc[0].startswith("Alice was beginning")


def test_reference_labels_of_known_rows():
    labels = load_reference_labels()
    assert labels.loc[0, "sadness"] == 0.6 and labels.loc[0, "anticipation"] == 0.2
    assert labels.loc[90, "surprise"] == 0.6


def test_reference_needs_the_paper_segments():
    sentences, _ = load_segments("sentences")
    with pytest.raises(ReferenceDataError, match="load_segments\\('paper'\\)"):
        ReferenceAnnotator().annotate(sentences)
    with pytest.raises(ReferenceDataError, match="'paper' segmentation"):
        timestamp_check(sentences)


# ------------------------------------------------------------------------------------ lexicon
def test_lexicon_finds_known_emotion_words():
    segments = _segments(
        "She was afraid and terrified of the horrible monster.",
        "What a happy, joyful and delightful celebration!",
        "The table stood in the hall.",
    )
    scores = emotion_scores(LexiconAnnotator(smoothing=1).annotate(segments))
    assert scores.loc[0, "fear"] >= 3 / 9  # afraid, terrified, horrible, monster
    assert scores.loc[0, "fear"] > scores.loc[0, "joy"]
    assert scores.loc[1, "joy"] >= 3 / 6 and scores.loc[1, "joy"] > scores.loc[1, "fear"]
    assert (scores.loc[2] == 0).all()
    assert ((scores >= 0) & (scores <= 1)).all().all()


def test_lexicon_smoothing_carries_emotion_into_the_next_segments():
    segments = _segments("Afraid afraid afraid.", "The table stood.", "A chair.", "The door.")
    alone = emotion_scores(LexiconAnnotator(smoothing=1).annotate(segments))["fear"].to_numpy()
    pooled = emotion_scores(LexiconAnnotator(smoothing=3).annotate(segments))["fear"].to_numpy()
    np.testing.assert_allclose(alone, [1, 0, 0, 0])
    # pooled over up to 3 segments: 3 fear words among 3, 6, 8 and then 7 words (window slides)
    np.testing.assert_allclose(pooled, [1, 3 / 6, 3 / 8, 0])


def test_pooled_shares_by_hand():
    counts = np.array([[2.0], [0.0], [1.0]])
    n_words = np.array([4.0, 0.0, 2.0])
    np.testing.assert_allclose(pooled_shares(counts, n_words, 2)[:, 0], [0.5, 0.5, 0.5])
    np.testing.assert_allclose(pooled_shares(counts, n_words, 1)[:, 0], [0.5, 0.0, 0.5])
    with pytest.raises(ValueError, match="at least 1"):
        pooled_shares(counts, n_words, 0)


def test_lexicon_tokens_and_word_forms():
    assert tokenise("\u201cDon\u2019t,\u201d said the Rabbit-Hole") == [
        "don't",
        "said",
        "the",
        "rabbit",
        "hole",
    ]
    assert lexicon_form("anxiously") == "anxious"
    assert lexicon_form("loveliest") == "lovely"
    assert lexicon_form("frightened") == "frightened"
    assert lexicon_form("zxqv") == "zxqv"


def test_lexicon_rejects_bad_settings():
    with pytest.raises(ValueError, match="lexicon_smoothing"):
        LexiconAnnotator(smoothing=0)
    with pytest.raises(ValueError, match="no segments"):
        LexiconAnnotator().annotate([])


# ------------------------------------------------------------------------------------ factory
def test_factory_picks_each_offline_annotator():
    assert make_annotator(Params()).name == "reference"
    lexicon = make_annotator(Params(annotation={"annotator": "lexicon", "lexicon_smoothing": 5}))
    assert lexicon.name == "lexicon" and lexicon.smoothing == 5
    with pytest.raises(ValueError, match="unknown annotator 'gpt'"):
        make_annotator(Params(), "gpt")


def test_annotate_reference_ignores_the_sentence_segmentation():
    result = annotate(Params(annotation={"annotator": "reference", "segmentation": "sentences"}))
    assert len(result.scores) == 91
    assert result.provenance["segmentation"] == "paper"
    assert result.provenance["alignment"]["words_matched_fraction"] >= 0.98


def test_annotate_lexicon_on_sentences_and_cache(monkeypatch):
    params = Params(annotation={"annotator": "lexicon", "segmentation": "sentences"})
    first = annotate(params)
    segments, _ = load_segments("sentences")
    assert len(first.scores) == len(segments)
    assert {"onset", "offset", "text"} <= set(first.scores.columns)

    def must_not_run(*args, **kwargs):
        raise AssertionError("the cached annotation should have been read")

    monkeypatch.setattr(annotation_pkg, "make_annotator", must_not_run)
    again = annotate(params)
    pd.testing.assert_frame_equal(emotion_scores(first), emotion_scores(again))
    np.testing.assert_allclose(segment_times(first)[0], segment_times(again)[0])
    # another smoothing is another cache entry, so it is computed
    with pytest.raises(AssertionError, match="cached annotation"):
        annotate(
            params.model_copy(
                update={"annotation": params.annotation.model_copy(update={"lexicon_smoothing": 1})}
            )
        )


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b'{"scores": {"data": [[0.1',
        b'{"provenance": {}}',
        b'{"scores": {"data": [], "columns": ["joy"], "index": []}, "provenance": {}}',
    ],
    ids=["emptied", "truncated", "no scores", "no emotions"],
)
def test_a_damaged_annotation_cache_is_named_and_rebuilt(fresh_data_home, capsys, damage):
    params = Params(annotation={"annotator": "lexicon", "segmentation": "sentences"})
    first = annotate(params)
    [cached] = (fresh_data_home / "cache" / "annotation").glob("*/annotation.json")
    cached.write_bytes(damage)
    again = annotate(params)
    pd.testing.assert_frame_equal(emotion_scores(first), emotion_scores(again))
    warning = capsys.readouterr().err
    assert f"corrupt cache file {cached}" in warning and "rebuilding it" in warning
    assert json.loads(cached.read_text())["scores"]["columns"][:8] == list(EMOTIONS)


def _fake_llm_module(calls: list) -> types.ModuleType:
    module = types.ModuleType("helpers.annotation.llm")

    class LLMAnnotator:
        name = "llm"

        def __init__(self, llm_params, cache_dir=None):
            calls.append((llm_params, cache_dir))

        def annotate(self, segments):
            chosen = segments[:5]
            scores = pd.DataFrame(
                np.full((len(chosen), 8), 0.25),
                columns=list(EMOTIONS),
                index=pd.Index([s.index for s in chosen], name="segment"),
            )
            return Annotation(scores=scores, provenance={"annotator": "llm", "model": "fake"})

    module.LLMAnnotator = LLMAnnotator
    module.has_llm_results = lambda llm_params, segments, cache_dir=None: False
    return module


def test_llm_is_loaded_lazily_and_given_its_parameters(monkeypatch):
    calls: list = []
    monkeypatch.setitem(sys.modules, "helpers.annotation.llm", _fake_llm_module(calls))
    params = Params(annotation={"annotator": "llm"}, llm={"model": "tiny", "temperature": 0.5})
    result = annotate(params)
    assert calls and calls[0][0].model == "tiny" and calls[0][0].temperature == 0.5
    assert len(result.scores) == 5  # the annotator scored the first segments only
    segments, _ = load_segments("sentences")
    np.testing.assert_allclose(segment_times(result)[0], [s.onset for s in segments[:5]])
    assert result.provenance["model"] == "fake"


def test_llm_available_without_endpoint_or_cache_is_false(monkeypatch):
    calls: list = []
    monkeypatch.setitem(sys.modules, "helpers.annotation.llm", _fake_llm_module(calls))
    params = Params(annotation={"annotator": "llm"})
    assert llm_available(params) is False
    assert not calls, "checking availability must not build an annotator"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert llm_available(params) is True
    monkeypatch.delenv("OPENAI_BASE_URL")
    annotate(params)  # fills the annotation cache
    assert llm_available(params) is True
