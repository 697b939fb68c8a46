#!/usr/bin/env bash
# Inside a D-Bus session: start gnome-keyring's Secret Service with an unlocked login collection, run
# the given command, stop the daemon. Used by the tests; never by the app.
set -euo pipefail
keyring_dir=$(mktemp -d)
export XDG_DATA_HOME="$keyring_dir/data" XDG_RUNTIME_DIR="$keyring_dir/run"
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
eval "$(printf 'test-keyring-password' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
# The daemon answers before its login collection exists: a first test that stores a key in that gap makes
# the keyring library try to create a collection, which fails ("Failed to create the collection", seen in
# about 1 of 8 fresh sessions). Wait for the state, not for time: the default collection is there and unlocked.
python_bin=${PYTHON_FOR_KEYRING:-.venv/bin/python}
ready=0
for _ in $(seq 1 300); do
  if "$python_bin" - <<'PY' 2>/dev/null
import secretstorage
connection = secretstorage.dbus_init()
collection = secretstorage.Collection(connection, "/org/freedesktop/secrets/aliases/default")
collection.ensure_not_locked()
PY
  then ready=1; break; fi
  sleep 0.05
done
[ "$ready" = 1 ] || echo "warning: the test keyring's login collection did not appear" >&2
rc=0
"$@" || rc=$?
# gnome-keyring-daemon leaves by itself when its D-Bus session ends.
rm -rf "$keyring_dir"
exit "$rc"
