"""The pipeline figure of the front page: chapters as boxes, the data they pass as arrows.

Drawn at build time (never committed as an image), with a fixed SVG hash salt so that rebuilding
an unchanged book writes the same file.
"""

from __future__ import annotations

from pathlib import Path


def draw_pipeline_figure(path: Path) -> Path:
    """Draw the pipeline overview (chapters as boxes, data as arrows) to ``path`` (SVG or PNG)."""
    # deferred: the backend must be chosen before pyplot is imported, and only this figure needs it
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    plt.rcParams["svg.hashsalt"] = "alice-emotions"
    fig, ax = plt.subplots(figsize=(11, 3.6))
    ax.set_xlim(0, 11)
    ax.set_ylim(0, 3.6)
    ax.axis("off")
    boxes = {
        "story": (0.1, 2.4, "Story text\nAlice, chapter 1", "#f2f2f2"),
        "annotation": (
            2.3,
            2.4,
            "1  Annotation\nLLM / lexicon / GPT-4\n→ 8 emotions × 372 TR",
            "#fde0c5",
        ),
        "bold": (0.1, 0.5, "BOLD images\nds002322 or simulated", "#f2f2f2"),
        "preprocessing": (
            2.3,
            0.5,
            "2  Preprocessing\natlas ROIs, cleaning\n→ ROI × 372 TR",
            "#cde4f7",
        ),
        "features": (4.5, 0.5, "3  Features\nROI amplitude | DFC\nsliding windows", "#cde4f7"),
        "regression": (6.7, 1.45, "4  Regression\nhonest CV, nulls\nDFC against ROI", "#d5efd0"),
        "explanations": (8.9, 2.4, "5  Explanations\nimportance graphs", "#e6dcf3"),
        "interpretation": (
            8.9,
            0.5,
            "6  Interpretation\nlocationist or\nconstructionist?",
            "#e6dcf3",
        ),
    }
    width, height = 2.0, 0.75
    for x, y, label, colour in boxes.values():
        ax.add_patch(
            FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0.05", fc=colour, ec="#555")
        )
        ax.text(x + width / 2, y + height / 2, label, ha="center", va="center", fontsize=8.5)

    def connect(start: str, end: str) -> None:
        x0, y0 = boxes[start][0] + width, boxes[start][1] + height / 2
        x1, y1 = boxes[end][0], boxes[end][1] + height / 2
        ax.add_patch(
            FancyArrowPatch(
                (x0 + 0.05, y0),
                (x1 - 0.05, y1),
                arrowstyle="-|>",
                mutation_scale=12,
                color="#333",
                connectionstyle="arc3,rad=0",
            )
        )

    for start, end in [
        ("story", "annotation"),
        ("bold", "preprocessing"),
        ("preprocessing", "features"),
        ("features", "regression"),
        ("annotation", "regression"),
        ("regression", "explanations"),
        ("regression", "interpretation"),
    ]:
        connect(start, end)
    ax.text(
        5.5,
        3.45,
        "targets: what the story makes a listener feel",
        ha="center",
        fontsize=8,
        style="italic",
    )
    ax.text(5.5, 0.12, "features: what the brain does", ha="center", fontsize=8, style="italic")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(
        path, bbox_inches="tight", metadata={"Date": None} if path.suffix == ".svg" else None
    )
    plt.close(fig)
    return path
