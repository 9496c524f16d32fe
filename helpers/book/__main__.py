"""``python -m helpers.book ...``: run chapters, build the HTML, run sweeps."""

import sys

from helpers.book.cli import main

sys.exit(main())
