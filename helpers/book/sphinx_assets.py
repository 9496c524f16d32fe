"""A small Sphinx extension that keeps each page's scripts free of duplicates.

Jupyter Book 1.x with sphinx-thebe registers thebe's inline configuration script twice
(``const THEBE_JS_URL = ...``), which makes every page throw "Identifier 'THEBE_JS_URL' has already
been declared" in the browser. The browser check of the book treats script errors as failures, so
the duplicate is removed when each page is rendered. Enabled in ``_config.yml`` under
``sphinx.extra_extensions``.
"""

from __future__ import annotations

from typing import Any


def _script_identity(script: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    """What a script tag contains; an inline script's file name may be ``None`` or ``""``."""
    attributes = getattr(script, "attributes", {}) or {}
    return str(getattr(script, "filename", script) or ""), tuple(sorted((k, str(v)) for k, v in attributes.items()))


def remove_duplicate_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Keep the first of several identical ``<script>`` entries of a page."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    unique = []
    for script in scripts:
        identity = _script_identity(script)
        if identity in seen:
            continue
        seen.add(identity)
        unique.append(script)
    scripts[:] = unique


def setup(app: Any) -> dict[str, Any]:
    # Early: a later handler may return a template name, which ends the event for the rest.
    app.connect("html-page-context", remove_duplicate_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
