#!/usr/bin/env bash
# Installs everything PRoP Desktop needs on Debian/Ubuntu, from nothing: system packages, a virtual
# environment in .venv, a CPU build of torch, and the app itself (editable).
#   scripts/setup.sh          app only
#   scripts/setup.sh --test   app + what the test suite needs (Xvfb, gnome-keyring, pytest ...)
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
[ "${1:-}" = "--test" ] && want_tests=1

app_apt=(python3-venv libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1
         libxcb-cursor0 libxcb-shape0 libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-xinerama0
         libxcb-xkb1 libfontconfig1 libdbus-1-3)
test_apt=(xvfb xauth gnome-keyring dbus dbus-x11 desktop-file-utils
          udev umockdev shellcheck)  # installer tests: real udevadm on a mocked adapter, script lint

packages=("${app_apt[@]}")
[ "$want_tests" = 1 ] && packages+=("${test_apt[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing system packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python_bin=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python_bin" -m venv .venv
fi
pip=(.venv/bin/python -m pip install --disable-pip-version-check -q)
# torch first, pinned: an unpinned torch pulls a CUDA build of several GB.
.venv/bin/python -c "import torch" 2>/dev/null || "${pip[@]}" "torch==2.13.0"
if [ "$want_tests" = 1 ]; then
  "${pip[@]}" -e ".[test]"
else
  "${pip[@]}" -e .
fi
echo "PRoP Desktop is installed in $(pwd)/.venv"
