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
rc=0
"$@" || rc=$?
# gnome-keyring-daemon leaves by itself when its D-Bus session ends.
rm -rf "$keyring_dir"
exit "$rc"
