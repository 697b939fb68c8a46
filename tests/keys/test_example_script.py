"""The documented example (docs/keys_storage_example.py) runs end to end against the real Secret Service."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "keys_storage_example.py"


@pytest.mark.secret_service
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_example_script(secret_service) -> None:
    result = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=100,
                            env=dict(os.environ))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "keyring: keyring.backends.SecretService.Keyring" in result.stdout
    assert result.stdout.strip().endswith("done: keys, profiles and sealed storage behave as documented")
    assert "FAILED" not in result.stdout + result.stderr
