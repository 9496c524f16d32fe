"""External data and what the study reads from it: fetching, storage, datasets, atlases,
the stimulus text and timings, and ROI extraction from BOLD images."""
