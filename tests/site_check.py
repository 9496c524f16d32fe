"""Open every page of the built book in headless Chromium and check what a reader would see.

The build can succeed while a reader still sees a broken page: a figure that does not load, a
traceback left in an output cell, a script error that stops the interactive connectome, a leaked
API key, a request to another host (the page would not read offline) or a formula left as raw TeX
(see :mod:`offline_check`). Chapter pages are also checked as a student meets them: the anatomy's sections
(Overview ... Exercises) are there, no code block scrolls sideways, every exercise has a solution
that stays collapsed until clicked, and every glossary link lands on a glossary entry.
:func:`check_site` serves ``_build/html`` on 127.0.0.1, drives Chromium through
the DevTools protocol (one websocket per page, via ``websocket-client``), and returns one
:class:`PageReport` per page, with a full-page screenshot of each.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from anatomy_check import REQUIRED_SECTIONS
from offline_check import MATH_PROBE, foreign_requests, math_problems

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--enable-unsafe-swiftshader",
    "--mute-audio",
    "--hide-scrollbars",
    # Offline and deterministic: every host but the local server fails at once instead of timing out.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)
# A laptop screen: at 1440 px and wider the theme's code box holds 89 characters of code, so a
# chapter that keeps to 88-character lines never makes the reader scroll sideways (at 1280 px the
# right-hand table of contents leaves room for 77 characters only).
PAGE_WIDTH = 1440
API_KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_-]{20,}")
ERROR_TEXT_PATTERN = re.compile(r"Traceback \(most recent call last\)|^\w+Error: ", re.MULTILINE)
SKIPPED_PAGES = {"genindex.html", "search.html"}

# Collected in the page after it loaded. The connectome view of nilearn is an <iframe srcdoc>
# whose document draws on <canvas> (WebGL); it has the same origin as the page, so its canvases
# can be inspected directly.
_PAGE_PROBE = r"""
(async () => {
  const API_KEY = new RegExp(PATTERN, 'g');
  const images = Array.from(document.images).map(img => ({
    src: img.currentSrc || img.src, complete: img.complete, width: img.naturalWidth}));
  const errorCells = Array.from(document.querySelectorAll(
      '.output.error, .output.traceback, .output.stderr, .cell_output .stderr'))
    .map(el => ({classes: el.className, text: el.innerText.slice(0, 2000)}));
  const connectomes = Array.from(document.querySelectorAll('iframe')).filter(f =>
      (f.getAttribute('srcdoc') || '').includes('onnectome')).map(f => {
    let canvases = [], text = '';
    try {
      const doc = f.contentDocument;
      canvases = Array.from(doc.querySelectorAll('canvas')).map(c => [c.width, c.height]);
      text = doc.body ? doc.body.innerText.slice(0, 500) : '';
    } catch (err) { text = 'inaccessible: ' + err; }
    const box = f.getBoundingClientRect();
    return {canvases: canvases, text: text, width: box.width, height: box.height};
  });
  const figures = document.querySelectorAll('.cell_output img').length;
  const headingText = h => {
    const copy = h.cloneNode(true);
    copy.querySelectorAll('.headerlink, .section-number').forEach(el => el.remove());
    return copy.textContent.replace(/\s+/g, ' ').trim();
  };
  const sections = Array.from(document.querySelectorAll('section > h2')).map(headingText)
    .filter((text, index, all) => all.indexOf(text) === index);
  // Code that runs off the right edge of its box makes the reader scroll sideways.
  const wideCode = Array.from(document.querySelectorAll('.cell_input pre, div.cell pre'))
    .filter(pre => !pre.closest('.cell_output') && pre.scrollWidth > pre.clientWidth + 1)
    .map(pre => ({line: (pre.textContent.split('\n').reduce(
        (a, b) => b.length > a.length ? b : a, '')).slice(0, 100),
      scrollWidth: pre.scrollWidth, clientWidth: pre.clientWidth}));
  // sphinx-exercise: div.exercise (id = label), div.solution whose title links to its exercise;
  // a dropdown solution is collapsed by sphinx-togglebutton, so only its title takes space.
  const solutions = Array.from(document.querySelectorAll('div.solution, details.solution'))
    .map(s => {
      const title = s.querySelector(':scope > .admonition-title, :scope > summary');
      const link = title && title.querySelector('a[href*="#"]');
      const target = link ? decodeURIComponent(link.getAttribute('href').split('#').pop()) : '';
      const shown = Array.from(s.children).filter(c => c !== title).some(c => {
        const style = getComputedStyle(c), box = c.getBoundingClientRect();
        return style.display !== 'none' && style.visibility !== 'hidden' && box.height > 0;
      });
      const open = s.tagName === 'DETAILS' ? s.open : shown;
      return {target: target, title: title ? title.textContent.trim().slice(0, 120) : s.id,
              hidden: !open};
    });
  const exercises = Array.from(document.querySelectorAll('div.exercise, details.exercise'))
    .map(e => ({id: e.id, title: (e.querySelector('.admonition-title, summary') || e)
      .textContent.replace(/\s+/g, ' ').trim().slice(0, 120)}));
  // Glossary links: every term link must land on an anchor of the glossary page.
  const pages = {};
  const glossaryLinks = Array.from(document.querySelectorAll('a.reference'))
    .filter(a => /glossary\.html#/.test(a.getAttribute('href') || ''));
  const brokenGlossary = [];
  for (const a of glossaryLinks) {
    const [page, anchor] = a.href.split('#');
    if (!(page in pages)) {
      pages[page] = fetch(page).then(r => r.ok ? r.text() : '').then(
        text => new DOMParser().parseFromString(text, 'text/html'), () => null);
    }
    const doc = await pages[page];
    if (!doc || !doc.getElementById(decodeURIComponent(anchor))) {
      brokenGlossary.push(a.getAttribute('href') + ' (' + a.textContent.trim() + ')');
    }
  }
  const unlinkedTerms = Array.from(document.querySelectorAll('.xref.std-term'))
    .filter(el => !el.closest('a')).map(el => el.textContent.trim());
  return {images: images, figures: figures, errorCells: errorCells, connectomes: connectomes,
          apiKeys: document.documentElement.outerHTML.match(API_KEY) || [], title: document.title,
          height: Math.max(document.body.scrollHeight, document.documentElement.scrollHeight),
          sections: sections, wideCode: wideCode, exercises: exercises, solutions: solutions,
          brokenGlossary: Array.from(new Set(brokenGlossary)),
          unlinkedTerms: Array.from(new Set(unlinkedTerms))};
})()
"""


@dataclass
class PageReport:
    """What a reader would meet on one page."""

    page: str
    title: str = ""
    javascript_errors: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    error_outputs: list[str] = field(default_factory=list)
    api_keys: list[str] = field(default_factory=list)
    n_images: int = 0
    n_figures: int = 0  # images inside cell outputs (logos and icons excluded)
    n_connectomes: int = 0
    broken_connectomes: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)  # the page's second-level headings
    wide_code: list[str] = field(default_factory=list)  # code blocks that scroll sideways
    exercises: list[str] = field(default_factory=list)  # exercise ids (labels)
    unsolved_exercises: list[str] = field(default_factory=list)
    visible_solutions: list[str] = field(default_factory=list)  # shown without a click
    orphan_solutions: list[str] = field(default_factory=list)  # pointing at no exercise here
    broken_glossary_links: list[str] = field(default_factory=list)
    unlinked_terms: list[str] = field(default_factory=list)  # {term} that resolved to nothing
    foreign_requests: list[str] = field(default_factory=list)  # URLs asked from another host
    n_formulas: int = 0  # math elements on the page
    n_typeset: int = 0  # MathJax containers made from them
    math_problems: list[str] = field(default_factory=list)  # untypeset formulas, raw TeX, errors
    screenshot: Path | None = None

    @property
    def is_chapter(self) -> bool:
        return "chapters/" in self.page

    @property
    def problems(self) -> list[str]:
        """Everything wrong on the page, one readable line each."""
        found = [f"JavaScript error: {e}" for e in self.javascript_errors]
        found += [f"image not loaded: {src}" for src in self.broken_images]
        found += [f"error output: {text[:200]!r}" for text in self.error_outputs]
        found += [f"string that looks like an API key: {key[:6]}..." for key in self.api_keys]
        found += [f"connectome view not rendered: {why}" for why in self.broken_connectomes]
        found += [f"code block scrolls sideways: {what}" for what in self.wide_code]
        found += [f"exercise without a solution: {label}" for label in self.unsolved_exercises]
        found += [f"solution shown without a click: {title}" for title in self.visible_solutions]
        found += [
            f"solution of no exercise on this page: {title}" for title in self.orphan_solutions
        ]
        found += [
            f"glossary link to no glossary entry: {href}" for href in self.broken_glossary_links
        ]
        found += [f"{{term}} not in the glossary (not linked): {t}" for t in self.unlinked_terms]
        found += [f"request to another host (not offline): {url}" for url in self.foreign_requests]
        found += self.math_problems
        if self.is_chapter:
            if self.n_figures == 0:
                found.append(
                    "no figure on a chapter page (were the notebooks run without inline figures?)"
                )
            found += [f"chapter section missing: {name}" for name in self.missing_sections]
        return [f"{self.page}: {problem}" for problem in found]

    @property
    def missing_sections(self) -> list[str]:
        """The anatomy sections (Overview ... Exercises) absent from the page, or out of order."""
        missing = [name for name in REQUIRED_SECTIONS if name not in self.sections]
        present = [self.sections.index(name) for name in REQUIRED_SECTIONS if name in self.sections]
        if present != sorted(present):
            missing.append("(order) the anatomy is " + ", ".join(REQUIRED_SECTIONS))
        return missing


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve ``directory`` over HTTP on 127.0.0.1 (a free port) for the duration of the block."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class DevToolsPage:
    """One browser tab driven over the Chrome DevTools protocol."""

    def __init__(self, websocket_url: str, timeout: float = 60.0) -> None:
        import websocket  # deferred: websocket-client is a test extra, needed only for the browser check

        self._timeout = timeout
        self._socket = websocket.create_connection(
            websocket_url, timeout=timeout, suppress_origin=True
        )
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Call a protocol method and return its result, keeping events that arrive meanwhile."""
        message_id = next(self._ids)
        self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv())
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"DevTools {method} failed: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_for(self, event: str, timeout: float) -> bool:
        """Read events until ``event`` arrives or ``timeout`` seconds pass."""
        import websocket  # deferred: a test extra (see __init__)

        deadline = time.monotonic() + timeout
        if any(e["method"] == event for e in self.events):
            return True
        try:
            while time.monotonic() < deadline:
                self._socket.settimeout(max(0.05, deadline - time.monotonic()))
                try:
                    message = json.loads(self._socket.recv())
                except websocket.WebSocketTimeoutException:
                    break
                if "method" in message:
                    self.events.append(message)
                    if message["method"] == event:
                        return True
            return False
        finally:
            self._socket.settimeout(self._timeout)

    def evaluate(self, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"probe failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        self._socket.close()


class Chromium:
    """A headless Chromium with remote debugging on a free port and a throw-away profile."""

    def __init__(self, executable: str = CHROMIUM, startup_timeout: float = 30.0) -> None:
        if not Path(executable).is_file():
            raise FileNotFoundError(
                f"{executable} not found: install it with `apt-get install -y chromium` "
                "(tests/setup_browser.sh does this)"
            )
        self.profile = Path(tempfile.mkdtemp(prefix="alice-chromium-"))
        self.process = subprocess.Popen(
            [
                executable,
                *CHROMIUM_FLAGS,
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + startup_timeout
        while not (port_file.is_file() and port_file.read_text().strip()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"chromium did not start (exit code {self.process.returncode})")
            time.sleep(0.1)
        self.port = int(port_file.read_text().split()[0])

    def new_page(self) -> tuple[DevToolsPage, str]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            target = json.loads(response.read())
        return DevToolsPage(target["webSocketDebuggerUrl"]), target["id"]

    def close_page(self, target_id: str) -> None:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/json/close/{target_id}", timeout=10
            ).close()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _javascript_errors(events: list[dict[str, Any]], local_prefix: str) -> list[str]:
    """Uncaught exceptions, console errors and failed loads, from this site or any other host.

    A resource from another host fails here (the browser resolves no host but 127.0.0.1) as it
    would for a reader without a network: that is a defect of the book, reported as an error and,
    through :func:`offline_check.foreign_requests`, as a request that should not have been made.
    """
    errors = []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            description = details.get("exception", {}).get("description") or details.get("text", "")
            errors.append(
                f"{description.splitlines()[0] if description else 'exception'} "
                f"({details.get('url', '')}:{details.get('lineNumber', '')})"
            )
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            errors.append(
                "console.error: "
                + " ".join(
                    str(a.get("value", a.get("description", ""))) for a in params.get("args", [])
                )
            )
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            if entry.get("level") != "error":
                continue
            url = entry.get("url", "")
            # The favicon is asked for by the browser itself, not by the page.
            if url == f"{local_prefix}/favicon.ico":
                continue
            errors.append(f"{entry.get('source', 'log')}: {entry.get('text', '')} {url}".strip())
    return errors


def _read_teaching_probe(report: PageReport, probe: dict[str, Any]) -> None:
    """Fill the report's teaching checks (sections, code width, exercises, glossary links)."""
    # Sphinx turns the apostrophe of "What's next" into a typographic one.
    report.sections = [title.replace("\u2019", "'") for title in probe["sections"]]
    report.wide_code = [
        f"{block['scrollWidth']} px of text in a {block['clientWidth']} px box: {block['line']!r}"
        for block in probe["wideCode"]
    ]
    report.exercises = [exercise["id"] for exercise in probe["exercises"]]
    solved = {solution["target"] for solution in probe["solutions"]}
    report.unsolved_exercises = [
        f"{e['id']} ({e['title']})" for e in probe["exercises"] if e["id"] not in solved
    ]
    report.visible_solutions = [s["title"] for s in probe["solutions"] if not s["hidden"]]
    report.orphan_solutions = [
        s["title"] for s in probe["solutions"] if s["target"] not in report.exercises
    ]
    report.broken_glossary_links = list(probe["brokenGlossary"])
    report.unlinked_terms = list(probe["unlinkedTerms"])


def check_page(
    browser: Chromium,
    base_url: str,
    page_name: str,
    screenshot: Path | None,
    settle_seconds: float = 1.5,
    width: int = PAGE_WIDTH,
) -> PageReport:
    """Load ``base_url/page_name``, wait for it to settle, and collect what is wrong with it."""
    url = f"{base_url}/{page_name}"
    page, target_id = browser.new_page()
    report = PageReport(page=page_name)
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.send(f"{domain}.enable")
        page.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=900,
            deviceScaleFactor=1,
            mobile=False,
        )
        page.send("Page.navigate", url=url)
        if not page.wait_for("Page.loadEventFired", timeout=60):
            report.javascript_errors.append("page did not finish loading within 60 s")
        page.wait_for("never", timeout=settle_seconds)  # let scripts and iframes run
        math = page.evaluate(MATH_PROBE)  # waits for MathJax to finish typesetting
        report.n_formulas, report.n_typeset = int(math["formulas"]), int(math["typeset"])
        report.math_problems = math_problems(math)
        probe = page.evaluate(_PAGE_PROBE.replace("PATTERN", json.dumps(API_KEY_PATTERN.pattern)))
        report.title = probe["title"]
        report.n_images = len(probe["images"])
        report.n_figures = int(probe["figures"])
        report.broken_images = [
            img["src"] for img in probe["images"] if not img["complete"] or img["width"] == 0
        ]
        report.error_outputs = [
            cell["text"]
            for cell in probe["errorCells"]
            if "error" in cell["classes"]
            or "traceback" in cell["classes"]
            or ERROR_TEXT_PATTERN.search(cell["text"])
        ]
        report.api_keys = sorted(set(probe["apiKeys"]))
        report.n_connectomes = len(probe["connectomes"])
        for index, view in enumerate(probe["connectomes"]):
            drawn = [c for c in view["canvases"] if c[0] > 0 and c[1] > 0]
            if not drawn or view["width"] == 0 or view["height"] == 0:
                report.broken_connectomes.append(
                    f"view {index + 1}: {len(view['canvases'])} canvas(es), frame {view['width']}x{view['height']}"
                    f"{', says: ' + view['text'][:120] if view['text'] else ''}"
                )
        _read_teaching_probe(report, probe)
        report.javascript_errors += _javascript_errors(page.events, base_url)
        report.foreign_requests = foreign_requests(page.events, base_url)
        if screenshot is not None:
            # Grow the viewport to the whole page, so the layout is the one a reader scrolls through.
            height = int(min(max(probe["height"], 900), 16000))
            page.send(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
            page.evaluate("window.scrollTo(0, 0)")
            page.wait_for("never", timeout=0.5)
            shot = page.send("Page.captureScreenshot", format="png")
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            report.screenshot = screenshot
    finally:
        page.close()
        browser.close_page(target_id)
    return report


def site_pages(html_dir: Path) -> list[Path]:
    """The book's content pages (search and index pages, and redirects, are left out)."""
    pages = []
    for path in sorted(html_dir.rglob("*.html")):
        relative = path.relative_to(html_dir)
        if relative.parts[0].startswith(("_", ".")) or relative.name in SKIPPED_PAGES:
            continue
        if relative == Path("index.html") and 'http-equiv="Refresh"' in path.read_text(
            errors="ignore"
        ):
            continue
        pages.append(path)
    return pages


def check_site(
    html_dir: Path, screenshot_dir: Path | None = None, executable: str = CHROMIUM
) -> list[PageReport]:
    """Check every page of a built book in headless Chromium; screenshots go to ``screenshot_dir``."""
    html_dir = Path(html_dir)
    pages = site_pages(html_dir)
    if not pages:
        raise FileNotFoundError(f"no HTML pages under {html_dir}: build the book first")
    reports = []
    with serve_directory(html_dir) as base_url, Chromium(executable) as browser:
        for path in pages:
            relative = path.relative_to(html_dir).as_posix()
            shot = None
            if screenshot_dir is not None:
                shot = Path(screenshot_dir) / (
                    relative.removesuffix(".html").replace("/", "__") + ".png"
                )
            reports.append(check_page(browser, base_url, relative, shot))
    return reports
