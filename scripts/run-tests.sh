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

status=0
dbus-run-session -- bash scripts/with-keyring.sh .venv/bin/python -m pytest -m "not xvfb" -p no:cacheprovider "$@" \
  || status=$?
if [ "$status" -eq 0 ]; then
  rc=0
  unset QT_QPA_PLATFORM
  dbus-run-session -- bash scripts/with-keyring.sh \
    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python -m pytest -m xvfb -p no:cacheprovider "$@" || rc=$?
  # 5 = no test collected (e.g. a -k filter that matches no screenshot test): not a failure.
  [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ] && status=$rc
fi
exit "$status"
