#!/usr/bin/env bash
# Builds the Linux release of PRoP Desktop from a clean clone, with one command:
#
#   bash installer/linux/build.sh            -> dist/prop-desktop/  (the PyInstaller one-folder app)
#                                               dist/prop-desktop-<version>-linux-<arch>.tar.gz
#
# Steps: make sure the venv exists (scripts/setup.sh: system libraries, CPU torch, the app), add
# PyInstaller, run installer/prop_desktop.spec, pack the tarball (app + install.sh + desktop entry + icons
# + udev rule), then unpack that tarball into a temporary folder, install it there per-user, and run the
# installed copy's `--self-test` offscreen: what is tested is what ships.
# Options: --no-self-test, --xz (smaller .tar.xz, slower), --keep-build (reuse build/pyinstaller cache).
# Environment: PROP_VENV (default .venv), PYINSTALLER_ARGS (extra arguments).
# Why no AppImage: appimagetool downloads its runtime at build time, and nothing but package registries is
# reachable from our build machines; the tarball + install.sh gives the same menu entry and icon.
set -euo pipefail
cd "$(dirname "$0")/../.."

self_test=1
compress=gz
clean=(--clean)
for arg in "$@"; do
  case "$arg" in
    --no-self-test) self_test=0 ;;
    --xz) compress=xz ;;
    --keep-build) clean=() ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

venv=${PROP_VENV:-.venv}
py="$venv/bin/python"
if [ ! -x "$py" ]; then
  echo "== No $venv yet: creating it with scripts/setup.sh"
  bash scripts/setup.sh
  venv=.venv
  py="$venv/bin/python"
fi
echo "== Installing PyInstaller into $venv"
"$py" -m pip install --disable-pip-version-check -q -e ".[installer]"

version=$("$py" -c 'import prop_desktop; print(prop_desktop.__version__)')
arch=$(uname -m)
name="prop-desktop-$version-linux-$arch"

if [ ! -f resources/base_policy.safetensors ]; then
  echo "warning: resources/base_policy.safetensors is missing: the bundle will have no base policy." >&2
fi

echo "== PyInstaller (one-folder build)"
start=$(date +%s)
# shellcheck disable=SC2086  # PYINSTALLER_ARGS is a list of words on purpose
"$py" -m PyInstaller --noconfirm "${clean[@]}" --log-level WARN \
  --workpath build/pyinstaller --distpath dist ${PYINSTALLER_ARGS:-} installer/prop_desktop.spec
echo "PyInstaller took $(( $(date +%s) - start )) s"

echo "== Packing $name"
stage="dist/$name"
rm -rf "$stage"
mkdir -p "$stage"
cp -al dist/prop-desktop "$stage/prop-desktop"  # hard links: no second copy of ~1 GB
cp installer/linux/install.sh installer/linux/uninstall.sh installer/linux/prop-desktop.desktop \
   installer/linux/70-prop-desktop.rules "$stage/"
mkdir -p "$stage/icons"
cp resources/icons/prop-desktop.svg resources/icons/prop-desktop-*.png "$stage/icons/"
cat > "$stage/README.txt" <<EOF
PRoP Desktop $version for Linux ($arch)

Install for yourself (menu entry, icon, command ~/.local/bin/prop-desktop):   ./install.sh
Let the app open your arm's USB adapter without sudo (once, needs root):       sudo ./install.sh --udev-rule
Install for everyone (/opt/prop-desktop + udev rule):                         sudo ./install.sh --system
Remove:                                                                       ./uninstall.sh   (or sudo ./uninstall.sh --system)
Or run it in place without installing:                                        ./prop-desktop/prop-desktop
EOF
start=$(date +%s)
if [ "$compress" = xz ]; then
  tarball="dist/$name.tar.xz"
  XZ_OPT="-6 -T0" tar -C dist -cJf "$tarball" "$name"
else
  tarball="dist/$name.tar.gz"
  tar -C dist -czf "$tarball" "$name"
fi
echo "Packing took $(( $(date +%s) - start )) s"
rm -rf "$stage"

echo "== Sizes"
du -sh dist/prop-desktop
du -sh "$tarball"

if [ "$self_test" = 1 ]; then
  echo "== Self-test of the packed release (unpack, install per-user, run --self-test offscreen)"
  trial=$(mktemp -d)
  trap 'rm -rf "$trial"' EXIT
  tar -C "$trial" -xf "$tarball"
  HOME="$trial/home" bash "$trial/$name/install.sh" --prefix "$trial/home/.local" >/dev/null
  installed="$trial/home/.local/bin/prop-desktop"
  "$installed" --version
  mkdir -p "$trial/data" "$trial/data2"
  QT_QPA_PLATFORM=offscreen PROP_DESKTOP_DATA_DIR="$trial/data" HOME="$trial/home" "$installed" --self-test
  echo "Self-test passed: $installed"
  # The self-test keeps keys in memory; this checks that the frozen app finds the real Secret Service
  # (keyring discovers its back ends through package metadata, which a bundle can lose).
  if command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null; then
    echo "== Frozen app against a real Secret Service (profile create, verify, delete)"
    # shellcheck disable=SC2016  # $1 is expanded by the inner shell
    PROP_DESKTOP_DATA_DIR="$trial/data2" HOME="$trial/home" dbus-run-session -- bash scripts/with-keyring.sh \
      bash -c '"$1" profile create "Bundle check" --shared >/dev/null && "$1" profile verify "Bundle check" \
               && "$1" profile delete "Bundle check" --yes' _ "$installed"
  fi
fi
echo "Built $tarball"
