"""A small Sphinx extension: scripts without duplicates, and warnings on unfinished chapters.

Jupyter Book 1.x with sphinx-thebe registers thebe's inline configuration script twice
(``const THEBE_JS_URL = ...``), which makes every page throw "Identifier 'THEBE_JS_URL' has already
been declared" in the browser. The browser check of the book treats script errors as failures, so
the duplicate is removed when each page is rendered.

``python -m book_runner html`` writes ``book/_generated/chapter_status.json`` (page -> warning) for
chapters that did not finish (interrupted, failed, incomplete notebook); this extension puts that
warning at the top of each such page and of the front page. The status is a configuration value
that invalidates the whole environment when it changes, so an incremental build never keeps a stale
warning or misses a new one. Enabled in ``_config.yml`` under ``sphinx.extra_extensions``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docutils import nodes

STATUS_FILE = Path("book") / "_generated" / "chapter_status.json"
STATUS_CONFIG = "alice_chapter_status"


def _script_identity(script: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    """What a script tag contains; an inline script's file name may be ``None`` or ``""``."""
    attributes = getattr(script, "attributes", {}) or {}
    return str(getattr(script, "filename", script) or ""), tuple(
        sorted((k, str(v)) for k, v in attributes.items())
    )


def remove_duplicate_scripts(
    app: Any, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
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


def load_chapter_status(app: Any, config: Any) -> None:
    """Read the status file written by ``book_runner html`` into the configuration."""
    try:
        status = json.loads((Path(app.srcdir) / STATUS_FILE).read_text())
    except (OSError, ValueError):
        status = {}
    config[STATUS_CONFIG] = (
        {str(k): str(v) for k, v in status.items()} if isinstance(status, dict) else {}
    )


def add_status_warning(app: Any, doctree: nodes.document) -> None:
    """Insert the page's status warning, if any, right under its title."""
    text = app.config[STATUS_CONFIG].get(app.env.docname)
    if not text:
        return
    warning = nodes.warning("", nodes.paragraph("", text), classes=["chapter-status"])
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is not None and section.children and isinstance(section[0], nodes.title):
        section.insert(1, warning)
    else:
        doctree.insert(0, warning)


def setup(app: Any) -> dict[str, Any]:
    # Early: a later handler may return a template name, which ends the event for the rest.
    app.connect("html-page-context", remove_duplicate_scripts, priority=100)
    app.add_config_value(STATUS_CONFIG, {}, "env")
    app.connect("config-inited", load_chapter_status)
    app.connect("doctree-read", add_status_warning)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
