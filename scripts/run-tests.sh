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

# The suite runs as two shards at once, one a core: the UI shard (the screenshot tests under a real X server,
# then tests/ui headless) and everything else. Each shard has its own D-Bus session and gnome-keyring, its own
# pytest temp folder and one torch thread, so they share nothing but the CPU. Most of the suite waits on
# real-time I/O (the simulated arm at its control rate) or on a 1-thread training subprocess, so two shards
# take about 7 minutes where one took 10-11 (2 cores, quiet; the README's test section has the numbers).
# With extra arguments (a -k filter, a path) everything runs in one process, as a developer expects.
keyring_pytest=(dbus-run-session -- bash scripts/with-keyring.sh)
xvfb_pytest=(dbus-run-session -- bash scripts/with-keyring.sh env -u QT_QPA_PLATFORM PROP_DESKTOP_XVFB=1
             xvfb-run -a -s "-screen 0 1400x900x24")
pytest=(.venv/bin/python -m pytest -p no:cacheprovider)
# Where the time goes, printed with each shard (the 12-minute CI budget is watched from these lines).
slowest=(--durations=12)

if [ "$#" -gt 0 ]; then
  status=0
  # Screenshot tests first, under a real X server, in their own process: Qt picks its platform once.
  "${xvfb_pytest[@]}" "${pytest[@]}" -m xvfb "$@" || status=$?
  # 5 = no test collected (e.g. a -k filter that matches no screenshot test): not a failure.
  [ "$status" -eq 5 ] && status=0
  rc=0
  "${keyring_pytest[@]}" "${pytest[@]}" -m "not xvfb" "$@" || rc=$?
  [ "$rc" -ne 0 ] && status=$rc
  exit "$status"
fi

export PROP_DESKTOP_TEST_TORCH_THREADS=1
shard_dir=$(mktemp -d)
ui_shard() {
  local rc=0
  "${xvfb_pytest[@]}" "${pytest[@]}" -m xvfb --basetemp="$shard_dir/xvfb" || rc=$?
  "${keyring_pytest[@]}" "${pytest[@]}" "${slowest[@]}" -m "not xvfb" --basetemp="$shard_dir/ui" tests/ui || rc=$?
  return "$rc"
}
echo "Running the suite as two shards at once (UI; everything else): their output follows when both end."
ui_shard >"$shard_dir/ui.log" 2>&1 &
ui_pid=$!
rest_rc=0
"${keyring_pytest[@]}" "${pytest[@]}" "${slowest[@]}" -m "not xvfb" --basetemp="$shard_dir/rest" --ignore=tests/ui tests \
  >"$shard_dir/rest.log" 2>&1 || rest_rc=$?
ui_rc=0
wait "$ui_pid" || ui_rc=$?
echo "===== shard 1 of 2: screenshot tests (Xvfb), then tests/ui (exit $ui_rc) ====="
cat "$shard_dir/ui.log"
echo "===== shard 2 of 2: everything but tests/ui (exit $rest_rc) ====="
cat "$shard_dir/rest.log"
summary() { grep -E "^=+ .*(passed|failed|error|no tests ran).* in [0-9.]+s" "$1" | sed -E 's/^=+ //; s/ =+$//' \
  | paste -sd ';' -; }
status=0
[ "$ui_rc" -ne 0 ] && status=$ui_rc
[ "$rest_rc" -ne 0 ] && status=$rest_rc
# The closing line: both shards' pytest summaries and the verdict.
if [ "$status" -eq 0 ]; then verdict=PASSED; else verdict="FAILED (exit $status)"; fi
echo "$verdict: UI shard: $(summary "$shard_dir/ui.log") | other shard: $(summary "$shard_dir/rest.log")"
rm -rf "$shard_dir"
exit "$status"
