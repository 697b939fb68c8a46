#!/usr/bin/env bash
# CI step: build the Linux release from this checkout with installer/linux/build.sh (PyInstaller bundle,
# tarball) and run the packed, installed copy's --self-test offscreen. Measured on 2 cores shared with other
# jobs (load ~10): 7 min (PyInstaller 5 min, packing 1 min); ~2 GB of disk at the peak (dist 0.9 GB,
# PyInstaller's work folder and binary cache 1 GB). Run it before pytest so pytest's summary stays last.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
bash installer/linux/build.sh "$@"
# PyInstaller's work folder is only a cache: drop it so CI's disk stays small.
rm -rf build/pyinstaller
echo "Linux bundle built and self-tested in $(( $(date +%s) - start )) s"
