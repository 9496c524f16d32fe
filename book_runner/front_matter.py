"""The front of the book: the paper's claims beside this book's findings, and the chapter list.

The landing page must never show a number typed by hand. :func:`render_findings` reads each
chapter's ``_build/results/<chapter>.json`` at build time and writes the comparison table; a chapter
that has not been run shows "not run yet", and a number a chapter did not report says which key is
missing, so a stale or partial book is visible rather than silently wrong.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.study import EMOTIONS


class MissingResult(KeyError):
    """A chapter's results file lacks a number the landing page needs."""


@dataclass(frozen=True)
class Claim:
    """One row of the landing page: a claim of the paper and where the book's answer lives."""

    topic: str
    paper: str
    chapter: str
    finding: Callable[[dict[str, Any]], str]


def load_chapter_results(
    results_dir: Path, chapters: list[str]
) -> dict[str, dict[str, Any] | None]:
    """Each chapter's results JSON, or None when the chapter has not written one."""
    loaded: dict[str, dict[str, Any] | None] = {}
    for chapter in chapters:
        path = results_dir / f"{chapter}.json"
        if not path.is_file():
            loaded[chapter] = None
            continue
        try:
            loaded[chapter] = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(
                f"{path} is not valid JSON ({err}); re-run chapter {chapter}"
            ) from None
    return loaded


def _get(results: dict[str, Any], *keys: str) -> Any:
    """The value of the first of ``keys`` present in ``results``."""
    for key in keys:
        if key in results and results[key] is not None:
            return results[key]
    raise MissingResult(" or ".join(f"`{k}`" for k in keys))


def _mean_scores(results: dict[str, Any], cv: str | None = None) -> list[dict[str, Any]]:
    """The ``emotion == "mean"`` score records of the regression chapter, optionally for one scheme."""
    records = [r for r in _get(results, "scores") if r.get("emotion") == "mean"]
    if cv is not None:
        records = [r for r in records if r.get("cv") == cv]
    return records


def _best(records: list[dict[str, Any]], features: str) -> dict[str, Any] | None:
    chosen = [r for r in records if r.get("features") == features and r.get("r2") is not None]
    return max(chosen, key=lambda r: r["r2"]) if chosen else None


def _describe_best(records: list[dict[str, Any]]) -> str:
    parts = []
    for features, name in (
        ("dfc", "DFC"),
        ("roi", "ROI amplitude"),
        ("roi_window", "ROI window mean"),
    ):
        best = _best(records, features)
        if best is not None:
            parts.append(
                f"{name}: R² {best['r2']:.2f} (r {best.get('r', float('nan')):.2f}, {best['model']})"
            )
    if not parts:
        raise MissingResult("`scores` records with `emotion: mean`")
    return "; ".join(parts)


def _annotation(results: dict[str, Any]) -> str:
    annotator = _get(results, "annotator")
    text = (
        f"{annotator} annotator, {_get(results, 'n_segments')} {_get(results, 'segmentation')} "
        f"segments x {len(EMOTIONS)} emotions"
    )
    agreement = results.get("agreement_spearman") or {}
    if agreement:
        pair, per_emotion = next(iter(sorted(agreement.items())))
        values = sorted(v for v in per_emotion.values() if v is not None)
        if values:
            median = (
                values[len(values) // 2]
                if len(values) % 2
                else sum(values[len(values) // 2 - 1 : len(values) // 2 + 1]) / 2
            )
            text += f"; {pair.replace('_', ' ')}: median Spearman ρ {median:.2f} across emotions"
    return text


def _data(results: dict[str, Any]) -> str:
    return (
        f"{_get(results, 'dataset')} data, {_get(results, 'n_subjects')} subjects, "
        f"{_get(results, 'atlas')} ({_get(results, 'n_rois')} ROIs); static connectivity "
        f"{_get(results, 'fc_within_networks'):.2f} within against "
        f"{_get(results, 'fc_between_networks'):.2f} between networks"
    )


def _features(results: dict[str, Any]) -> str:
    sets = _get(results, "feature_sets")
    if "dfc" not in sets:
        raise MissingResult("`feature_sets.dfc`")
    text = (
        f"DFC in {_get(results, 'window_length')}-TR {_get(results, 'window_shape')} windows: "
        f"{sets['dfc']['n_features']:,} edges per sample against {_get(results, 'n_rois')} ROI amplitudes"
    )
    ratio = results.get("fluctuation_ratio_at_window")
    if ratio is not None:
        text += (
            f"; DFC fluctuates {ratio:.2f}x as much as under a phase-randomised null "
            f"(p = {_get(results, 'fluctuation_p_at_window'):.2g})"
        )
    return text


def _random_split(results: dict[str, Any]) -> str:
    records = _mean_scores(results, "random")
    if not records:
        return "random split not run (add it to `cv_options`)"
    return "mean over emotions, " + _describe_best(records)


def _honest_split(results: dict[str, Any]) -> str:
    records = [r for r in _mean_scores(results) if r.get("cv") != "random"]
    if not records:
        raise MissingResult("`scores` records for a subject-wise scheme")
    cv = records[0]["cv"]
    text = f"`{cv}`, mean over emotions, " + _describe_best([r for r in records if r["cv"] == cv])
    per_emotion = [
        r
        for r in _get(results, "scores")
        if r.get("cv") == cv and r.get("emotion") != "mean" and r.get("p_fdr") is not None
    ]
    if per_emotion:
        significant = {(r["model"], r["features"]): 0 for r in per_emotion}
        for r in per_emotion:
            significant[(r["model"], r["features"])] += r["p_fdr"] < 0.05
        (model, features), count = max(significant.items(), key=lambda item: item[1])
        if count:
            text += (
                f"; the most for one model: {count} of {len(EMOTIONS)} emotions significant after "
                f"FDR ({model} on {features})"
            )
        else:
            text += "; no emotion significant after FDR for any model"
    return text


def _dfc_vs_roi(results: dict[str, Any]) -> str:
    comparison = _get(results, "dfc_vs_roi")
    if isinstance(comparison, list):
        if not comparison:
            raise MissingResult("`dfc_vs_roi`")
        comparison = comparison[0]
    return (
        f"Δr (DFC − ROI) = {comparison['delta_r']:+.3f}, joint permutation p = {comparison['p_value']:.3g} "
        f"({comparison.get('model', '?')}, `{comparison.get('cv', '?')}`)"
    )


def _explanations(results: dict[str, Any]) -> str:
    auroc = _get(results, "recovery_auroc", "mean_recovery_auroc")
    if isinstance(auroc, dict):
        values = [v for v in auroc.values() if v is not None]
        if not values:
            return "no planted truth (real data): see the chapter's graphs"
        return (
            f"planted edges recovered with mean AUROC {sum(values) / len(values):.2f} "
            f"(range {min(values):.2f}–{max(values):.2f} over emotions)"
        )
    return f"planted edges recovered with mean AUROC {float(auroc):.2f}"


def _interpretation(results: dict[str, Any]) -> str:
    """The chapter's conclusion from its kept indices, beside the planted account on simulated data.

    Descriptive indices are counted apart: they are shown in the chapter but never decide. When
    the chapter names the decoder its conclusion reads (``explained_features``), only that
    decoder's kept indices are counted.
    """
    conclusion = results.get("conclusion")
    rows = _get(results, "table")
    if not conclusion:
        raise MissingResult("`conclusion`")
    explained = results.get("explained_features")
    kept = [r for r in rows if r.get("role") == "in the conclusion"]
    if explained and explained != "none":
        kept = [r for r in kept if str(r.get("index", "")).endswith(f"({explained})")]
    named = [r["favours"] for r in kept if r.get("favours") not in (None, "inconclusive")]
    of_decoder = f" of the {explained} decoder" if explained and explained != "none" else ""
    verdict = (
        "inconclusive (no kept index names an account)"
        if conclusion == "inconclusive"
        else f"{conclusion} ({len(named)} of {len(kept)} kept indices{of_decoder} name it)"
    )
    planted = results.get("planted_account")
    source = (
        f"the planted account is {planted}"
        if planted
        else "real data: how often such a verdict is right comes from simulated worlds "
        "(chapter 08's verdict table)"
    )
    return f"concludes {verdict}; {source}"


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "Emotion labels",
        "GPT-4 rates 91 segments of the story on 8 Plutchik emotions in [0, 1]",
        "01_annotation",
        _annotation,
    ),
    Claim(
        "Brain data",
        "ds002322: 26 listeners, Schaefer 400 parcels (7 networks)",
        "02_preprocessing",
        _data,
    ),
    Claim(
        "Features",
        "DFC: Pearson r in 12-TR sliding windows, Fisher z (79,800 edges)",
        "03_features",
        _features,
    ),
    Claim(
        "Decoding, paper's split",
        "random 90/10 split of windows: test R² 0.59 SVR-RBF on DFC, "
        "0.56 ridge on DFC, 0.26 SVR-RBF on ROI",
        "04_regression",
        _random_split,
    ),
    Claim(
        "Decoding, held-out listeners and story", "not evaluated", "04_regression", _honest_split
    ),
    Claim("DFC against ROI", "DFC clearly better than ROI amplitude", "04_regression", _dfc_vs_roi),
    Claim(
        "Explanations",
        "spanning trees of edge importance reveal emotion-specific networks",
        "05_explanations",
        _explanations,
    ),
    Claim(
        "Interpretation",
        "distributed interactions support psychological constructionism",
        "06_interpretation",
        _interpretation,
    ),
)


def _finding_cell(claim: Claim, results: dict[str, dict[str, Any] | None]) -> str:
    chapter_results = results.get(claim.chapter)
    if chapter_results is None:
        return f"*not run yet* (run chapter `{claim.chapter}`)"
    try:
        return claim.finding(chapter_results)
    except MissingResult as err:
        return f"*not reported:* {err.args[0]} missing from `{claim.chapter}.json`"
    except (KeyError, TypeError, ValueError) as err:
        return f"*not reported:* `{claim.chapter}.json` has an unexpected shape ({type(err).__name__}: {err})"


def render_findings(
    results_dir: Path, chapters: list[str], manifest: dict[str, Any] | None = None
) -> str:
    """The landing page's claims-and-findings table as MyST Markdown.

    ``chapters`` are the chapters listed in the table of contents; claims answered by a chapter
    that is not among them are left out rather than pointing at a page that does not exist.
    """
    results = load_chapter_results(results_dir, chapters)
    lines = ["| | The paper reports | This book finds |", "|---|---|---|"]
    for claim in CLAIMS:
        if claim.chapter not in chapters:
            continue
        cell = _finding_cell(claim, results).replace("|", "\\|").replace("\n", " ")
        chapter_link = f"{{doc}}`{claim.topic} <chapters/{claim.chapter}>`"
        lines.append(f"| {chapter_link} | {claim.paper} | {cell} |")
    text = "\n".join(lines) + "\n"
    if manifest:
        text += (
            f"\nNumbers from the run with `{manifest.get('params_file', '?')}` "
            f"(commit `{manifest.get('git_commit') or 'unknown'}`); see {{doc}}`reproducibility`.\n"
        )
        if manifest.get("params", {}).get("dataset") == "simulated":
            text += (
                "On the simulated dataset these numbers test the method against a known truth; "
                "they say nothing about real brains.\n"
            )
    return text


CHAPTER_QUESTIONS: dict[str, str] = {
    "01_annotation": "Which emotions does the story carry, moment by moment, and how far do annotators "
    "(GPT-4's published labels, an emotion lexicon, a chat model) agree?",
    "02_preprocessing": "Are the ROI time series clean and plausible: where are the ROIs, what do the "
    "signals look like, does static connectivity show network structure?",
    "03_features": "What do ROI amplitude and sliding-window connectivity (DFC) capture, and how much "
    "of DFC's fluctuation is noise from short windows?",
    "04_regression": "Can the eight emotion trajectories be decoded, does DFC beat ROI amplitude, and "
    "what survives when test listeners and story parts are truly held out?",
    "05_explanations": "Which edges and networks carry each emotion, and do the importance graphs find "
    "the edges that were planted in the simulation?",
    "06_interpretation": "Do emotions rely on unique regions (locationist) or on shared, distributed "
    "interactions (constructionist), each measured against a null?",
}
"""The question each chapter answers, shown on the landing page and the instructors' page."""


def render_chapter_list(chapters: list[str]) -> str:
    """A Markdown list linking each chapter in the table of contents to the question it answers."""
    lines = []
    for chapter in chapters:
        question = CHAPTER_QUESTIONS.get(chapter, "")
        lines.append(f"- {{doc}}`chapters/{chapter}`: {question}".rstrip(": ").rstrip())
    return "\n".join(lines) + "\n"
