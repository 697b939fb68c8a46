#!/usr/bin/env bash
# Builds "PRoP Desktop.app" and a .dmg on macOS (11+, Apple silicon or Intel), from a clean clone:
#
#   bash installer/macos/build_app.sh
#       -> dist/PRoP Desktop.app, dist/prop-desktop-<version>-macos-<arch>.dmg
#
# Signing and notarization (optional; without them the app is signed ad hoc and Gatekeeper asks the user
# to confirm the first launch via right-click > Open):
#   PROP_DESKTOP_CODESIGN_IDENTITY="Developer ID Application: Name (TEAMID)"  sign with the hardened runtime
#   PROP_DESKTOP_NOTARY_PROFILE=profile-name   notarize the .dmg with `xcrun notarytool` and staple it
#     (create the profile once: xcrun notarytool store-credentials profile-name --apple-id ... --team-id ...)
# Needs: python3.11 (python.org or Homebrew), Xcode command line tools (codesign, iconutil, hdiutil).
set -euo pipefail
cd "$(dirname "$0")/../.."

[ "$(uname -s)" = Darwin ] || { echo "build_app.sh runs on macOS only (it needs iconutil, codesign, hdiutil)." >&2; exit 1; }

python=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
pip=(.venv/bin/python -m pip install --disable-pip-version-check -q)
# PyPI's macOS torch wheels are CPU (+MPS) builds; pinned like scripts/setup.sh.
.venv/bin/python -c "import torch" 2>/dev/null || "${pip[@]}" "torch==2.13.0"
"${pip[@]}" -e ".[installer]"

version=$(.venv/bin/python -c 'import prop_desktop; print(prop_desktop.__version__)')
arch=$(uname -m)
app="dist/PRoP Desktop.app"
dmg="dist/prop-desktop-$version-macos-$arch.dmg"

# The committed .icns is made with Pillow; Apple's iconutil makes the canonical one from the same renders.
iconset=$(mktemp -d)/prop-desktop.iconset
mkdir -p "$iconset"
for size in 16 32 128 256 512; do
  cp "resources/icons/prop-desktop-$size.png" "$iconset/icon_${size}x${size}.png"
  double=$((size * 2))
  [ -f "resources/icons/prop-desktop-$double.png" ] && cp "resources/icons/prop-desktop-$double.png" "$iconset/icon_${size}x${size}@2x.png"
done
export PROP_DESKTOP_ICNS="${iconset%.iconset}.icns"
iconutil -c icns -o "$PROP_DESKTOP_ICNS" "$iconset"

.venv/bin/python -m PyInstaller --noconfirm --clean --workpath build/pyinstaller --distpath dist installer/prop_desktop.spec

echo "== Self-test of the .app"
"$app/Contents/MacOS/prop-desktop" --version
QT_QPA_PLATFORM=offscreen PROP_DESKTOP_DATA_DIR=$(mktemp -d) "$app/Contents/MacOS/prop-desktop" --self-test

echo "== Disk image"
stage=$(mktemp -d)
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"  # drag-to-install
rm -f "$dmg"
hdiutil create -volname "PRoP Desktop $version" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$dmg"
rm -rf "$stage"

if [ -n "${PROP_DESKTOP_CODESIGN_IDENTITY:-}" ]; then
  codesign --force --sign "$PROP_DESKTOP_CODESIGN_IDENTITY" "$dmg"
  if [ -n "${PROP_DESKTOP_NOTARY_PROFILE:-}" ]; then
    xcrun notarytool submit "$dmg" --keychain-profile "$PROP_DESKTOP_NOTARY_PROFILE" --wait
    xcrun stapler staple "$dmg"
  fi
  spctl --assess --type open --context context:primary-signature -v "$dmg" || true
fi
du -sh "$app" "$dmg"
echo "Built $dmg"
