"""``python -m helpers.book.sweep ...`` (``run-one`` is how a combination runs in its own process)."""

import sys

from helpers.book.sweep.cli import main

sys.exit(main())
