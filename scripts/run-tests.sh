#!/usr/bin/env bash
# Installs everything the tests need, then runs the whole suite:
#   1. most tests headless (QT_QPA_PLATFORM=offscreen) inside a private D-Bus session with a real,
#      unlocked gnome-keyring Secret Service;
#   2. the screenshot tests under a real X server (Xvfb), saving PNGs to test-artifacts/.
# Extra arguments go to pytest (e.g. scripts/run-tests.sh -k keys).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test

export HOME=${HOME:-/root}
mkdir -p "$HOME" test-artifacts
export PROP_DESKTOP_TEST_ARTIFACTS="$(pwd)/test-artifacts"
export QT_QPA_PLATFORM=offscreen
# The library must run the same on any core count; tests pin threads themselves where it matters.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

.venv/bin/ruff check prop_desktop tests
# The architecture contracts of pyproject.toml: layers, Qt only in ui/, an I/O-free engine, no import circles.
.venv/bin/lint-imports --no-cache --no-logo
# The type check, strict where pyproject.toml's [tool.mypy] says (about 15 s of CPU from a cold cache).
.venv/bin/mypy

status=0
# Screenshot tests first, under a real X server (Xvfb), in their own process: Qt picks its platform once.
dbus-run-session -- bash scripts/with-keyring.sh env -u QT_QPA_PLATFORM PROP_DESKTOP_XVFB=1 \
  xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python -m pytest -m xvfb -p no:cacheprovider "$@" || status=$?
# 5 = no test collected (e.g. a -k filter that matches no screenshot test): not a failure.
[ "$status" -eq 5 ] && status=0
# Then everything else headless; its summary is the run's closing line.
rc=0
dbus-run-session -- bash scripts/with-keyring.sh .venv/bin/python -m pytest -m "not xvfb" -p no:cacheprovider "$@" \
  || rc=$?
[ "$rc" -ne 0 ] && status=$rc
exit "$status"
