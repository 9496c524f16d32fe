"""What the rendered-site check needs to prove that a page reads offline and typesets its formulas.

A book taught in a room without a network must load everything from its own site: a script, a font
or a stylesheet asked from another host shows as raw TeX or a broken page there. Every request a
page makes is read from the DevTools ``Network`` events, and any request to a host other than the
local server is a problem, whatever its kind (the browser resolves no other host, so none could
succeed). Formulas are checked after MathJax has finished: every ``.math`` element Sphinx wrote
must hold a MathJax container, MathJax must report no TeX error, and no ``$...$`` or ``\\(...\\)``
may be left in the page's prose (a formula the parser did not see).
"""

from __future__ import annotations

import re
from typing import Any

# Schemes that never leave the page: inline data, blobs, the blank page and the browser's own.
LOCAL_SCHEMES = ("data:", "blob:", "about:", "chrome:", "chrome-extension:", "devtools:")

# Waits for MathJax to finish (at most 30 s), then reads what it made of each formula.
MATH_PROBE = r"""
(async () => {
  const mj = window.MathJax;
  let loaded = Boolean(mj && mj.startup && mj.startup.promise);
  if (loaded) {
    const timeout = new Promise(resolve => setTimeout(() => resolve('timeout'), 30000));
    loaded = (await Promise.race([mj.startup.promise.then(() => 'done'), timeout])) === 'done';
  }
  const formulas = Array.from(document.querySelectorAll('.math'));
  const untypeset = formulas.filter(el => !el.querySelector('mjx-container'))
    .map(el => el.textContent.trim().slice(0, 120));
  const errors = Array.from(document.querySelectorAll('mjx-merror'))
    .map(el => (el.getAttribute('data-mjx-error') || el.textContent).slice(0, 120));
  // Prose only: code, outputs shown as text, scripts and typeset math are left out.
  const skip = 'pre, code, script, style, textarea, mjx-container, .math, .highlight';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: n => (n.parentElement && n.parentElement.closest(skip))
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
  const prose = [];
  while (walker.nextNode()) prose.push(walker.currentNode.textContent);
  return {loaded: loaded, formulas: formulas.length, typeset:
          document.querySelectorAll('mjx-container').length, untypeset: untypeset,
          errors: errors, prose: prose.join(' ')};
})()
"""

RAW_TEX_PATTERN = re.compile(r"\$[^$\s][^$]{0,200}?\$|\\\(.{1,200}?\\\)|\\\[.{1,200}?\\\]", re.S)


def foreign_requests(events: list[dict[str, Any]], local_prefix: str) -> list[str]:
    """Every URL the page asked for from another host (sorted, without duplicates)."""
    urls = set()
    for event in events:
        params = event.get("params", {})
        if event["method"] == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
        elif event["method"] == "Network.webSocketCreated":
            url = params.get("url", "")
        else:
            continue
        if url and not url.startswith(local_prefix) and not url.startswith(LOCAL_SCHEMES):
            urls.add(url)
    return sorted(urls)


def math_problems(probe: dict[str, Any]) -> list[str]:
    """What is wrong with the formulas of one page, one line each (nothing on a page without math)."""
    found = []
    raw = [match.group(0)[:80] for match in RAW_TEX_PATTERN.finditer(probe.get("prose", ""))]
    if probe["formulas"] and not probe["loaded"]:
        found.append(f"MathJax did not load or finish: {probe['formulas']} formula(s) left as TeX")
    found += [f"formula not typeset: {text!r}" for text in probe["untypeset"]]
    found += [f"MathJax error: {text!r}" for text in probe["errors"]]
    found += [f"raw TeX left in the text: {text!r}" for text in raw]
    return found
