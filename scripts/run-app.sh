#!/usr/bin/env bash
# Installs PRoP Desktop (if needed) and opens it on the built-in simulated arm.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/prop-desktop "$@"
