#!/usr/bin/env bash
# CI step: build the Linux release from this checkout with installer/linux/build.sh (PyInstaller bundle,
# tarball) and run the packed, installed copy's --self-test offscreen. Measured: ~4-6 min on 2 cores,
# ~1.5 GB of disk while building. Run it before the pytest run so pytest's summary stays the last line.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
bash installer/linux/build.sh "$@"
# PyInstaller's work folder is only a cache: drop it so CI's disk stays small.
rm -rf build/pyinstaller
echo "Linux bundle built and self-tested in $(( $(date +%s) - start )) s"
