"""The architecture, enforced: the import-linter contracts of pyproject.toml hold, and they do catch a break.

The contracts (layers, Qt only in ui/, no serial/keyring/cryptography in the engine, no import circles) see
relative imports too, which the grep this test used to be did not. The pickle rule is not an import rule, so
it stays a check of its own here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "prop_desktop"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on the copy of prop_desktop in `project` (its pyproject.toml holds the contracts)."""
    if not LINT_IMPORTS.exists():
        pytest.fail(f"{LINT_IMPORTS} is missing: install the test extras (pip install -e '.[test]')")
    env = {**os.environ, "PYTHONPATH": str(project), "COLUMNS": "400"}  # one contract per line
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _copy_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "pyproject.toml", project)
    shutil.copytree(PACKAGE, project / "prop_desktop", ignore=shutil.ignore_patterns("__pycache__"))
    return project


def test_the_import_contracts_hold():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("leak", "broken_contract"),
    [
        # A relative import, the kind the old grep never looked at: the engine reaching up into keys/.
        ("from ..keys import material  # noqa: F401\n", "Layers:"),
        ("import PySide6  # noqa: F401\n", "Qt and pyqtgraph only in ui/"),
        ("import serial  # noqa: F401\n", "The PRoP engine (prop/) uses no serial port"),
    ],
)
def test_a_forbidden_import_in_the_engine_breaks_a_contract(tmp_path, leak, broken_contract):
    project = _copy_project(tmp_path)
    (project / "prop_desktop" / "prop" / "leak.py").write_text(leak)
    result = _lint_imports(project)
    assert result.returncode != 0, result.stdout
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(line.startswith(broken_contract) for line in broken), result.stdout
    assert "prop_desktop.prop.leak" in result.stdout


@pytest.mark.parametrize("package", ["keys", "prop", "ui/pages"])
def test_an_import_circle_inside_a_package_breaks_a_contract(tmp_path, package):
    project = _copy_project(tmp_path)
    folder = project / "prop_desktop" / package
    (folder / "circle_a.py").write_text("from . import circle_b  # noqa: F401\n")
    (folder / "circle_b.py").write_text("from . import circle_a  # noqa: F401\n")
    result = _lint_imports(project)
    assert result.returncode != 0, result.stdout
    assert "No import circles between the modules of a package BROKEN" in result.stdout


def test_nothing_loads_pickles():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if "pickle.load" in text or ("torch.load(" in text and "weights_only=True" not in text):
            offenders.append(str(path))
    assert offenders == []
