"""Shared test set-up: headless Qt by default, a private data folder per test, 2 torch threads
(1 a shard when run-tests.sh runs two shards at once)."""

from __future__ import annotations

import os

import pytest

# scripts/run-tests.sh sets PROP_DESKTOP_XVFB=1 for the screenshot run under xvfb-run; everything else is offscreen.
if os.environ.get("PROP_DESKTOP_XVFB") != "1":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets its own app data folder, so nothing leaks between tests or into $HOME."""
    monkeypatch.setenv("PROP_DESKTOP_DATA_DIR", str(tmp_path_factory.mktemp("appdata")))


@pytest.fixture(scope="session", autouse=True)
def _torch_threads():
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return
    # run-tests.sh runs two shards at once on 2 cores and gives each one thread; alone, a run gets two.
    torch.set_num_threads(int(os.environ.get("PROP_DESKTOP_TEST_TORCH_THREADS", "2")))
