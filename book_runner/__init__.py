"""Machinery that builds the book: the chapter runner, front matter, reproducibility page,
rendered-site check, Sphinx assets and parameter sweeps. No chapter imports it.

Command line: ``python -m book_runner {run,html,prepare,sweep} ...``.
"""
