"""External data and what the study reads from it: fetching (:mod:`~helpers.data.fetch`, on pooch),
atomic writes and locks (:mod:`~helpers.data.files`), checksummed cache artefacts
(:mod:`~helpers.data.integrity`), the data home and chapter results (:mod:`~helpers.data.storage`),
datasets, atlases, the stimulus text and timings, and ROI extraction from BOLD images."""

__all__ = [
    "atlases",
    "datasets",
    "derivatives",
    "fetch",
    "files",
    "integrity",
    "preprocessing",
    "stimulus",
    "storage",
]
