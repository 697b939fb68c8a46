"""`prop-desktop --self-test`, the smoke test a frozen bundle runs: passes on a good install, and says
clearly what is broken on a bad one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from prop_desktop.paths import resources_dir


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PROP_DESKTOP_DATA_DIR=str(tmp_path / "data"))
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=240)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_self_test_passes_on_this_install(tmp_path):
    if not (resources_dir() / "base_policy.json").exists():
        pytest.skip("the base policy is not in resources/ yet (prop-desktop policy train-base)")
    result = _run("from prop_desktop.cli.main import main; raise SystemExit(main(['--self-test']))", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for check in ("open the main window", "connect the simulated arm", "drive the baseline policy",
                  "policy step with and without a key", "close the window"):
        assert f"PASS  {check}" in result.stdout, result.stdout
    assert "0 failed" in result.stdout


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_self_test_fails_clearly_on_a_bundle_without_its_policy(tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(resources_dir(), bundle / "resources",
                    ignore=shutil.ignore_patterns("base_policy.*"))
    code = (f"import sys; sys._MEIPASS = {str(bundle)!r}\n"
            "from prop_desktop.ui.self_test import run_self_test\nraise SystemExit(run_self_test())")
    result = _run(code, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "PASS  open the main window" in result.stdout
    assert "PASS  connect the simulated arm" in result.stdout
    assert "FAIL  policy step with and without a key" in result.stdout
    assert "base policy" in result.stdout and "Traceback" not in result.stdout
