"""``python -m helpers.book ...``: run chapters, build the HTML, run sweeps."""

import sys

from helpers.book.runner import main

sys.exit(main())
