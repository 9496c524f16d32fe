"""The package behind the book: parameters, data, simulation, features, models, explanations."""

import warnings

# Without ipywidgets, tqdm.auto warns at import inside a kernel and falls back to text bars, which is
# what the book wants; the warning itself would only clutter every chapter.
warnings.filterwarnings("ignore", message="IProgress not found")
