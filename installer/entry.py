"""Entry point of the frozen (PyInstaller) app: the same `prop-desktop` command as the pip-installed one."""

from __future__ import annotations

import multiprocessing

from prop_desktop.cli.main import main

if __name__ == "__main__":
    # A frozen app re-executes itself for child processes (DataLoader workers, spawn); without this the
    # child would start a second app instead of the worker.
    multiprocessing.freeze_support()
    raise SystemExit(main())
