"""Checks for the chapters' coding exercises.

A coding exercise leaves a cell with ``...`` for the student to fill in; the check cell after it
calls a function from this package, which says whether the answer is right and, if not, what is
wrong. A check never raises on a wrong answer (a student's notebook keeps running); the hidden
solution cell asserts its check, so building the book tests every solution. One module per chapter.
"""

from helpers.exercises.checking import check_array, not_answered

__all__ = ["check_array", "not_answered"]
