"""``python -m book_runner.sweep ...`` (``run-one`` is how a combination runs in its own process)."""

import sys

from book_runner.sweep.cli import main

sys.exit(main())
