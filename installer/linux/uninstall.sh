#!/usr/bin/env bash
# Removes PRoP Desktop: ./uninstall.sh (per-user install) or sudo ./uninstall.sh --system.
# Profiles, keys and recordings stay (app data folder, OS keyring). Same options as install.sh.
exec bash "$(dirname "${BASH_SOURCE[0]}")/install.sh" --uninstall "$@"
