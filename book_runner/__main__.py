"""``python -m book_runner ...``: run chapters, build the HTML, run sweeps."""

import sys

from book_runner.cli import main

sys.exit(main())
