#!/usr/bin/env bash
# Installs PRoP Desktop on Linux from the unpacked release tarball (or from a source checkout after
# installer/linux/build.sh). docs/installer.md explains every step.
#
#   ./install.sh                      per-user: app in ~/.local/lib/prop-desktop, command ~/.local/bin/prop-desktop,
#                                     menu entry and icon in ~/.local/share (no root needed)
#   sudo ./install.sh --system        everyone: app in /opt/prop-desktop, /usr/local/bin, /usr/local/share,
#                                     and the udev rule that lets the desktop user open the arm's USB adapter
#   sudo ./install.sh --udev-rule     only the udev rule (after a per-user install)
#   sudo ./install.sh --add-to-dialout [USER]   also put USER (default: the one who ran sudo) in dialout
#   sudo ./install.sh --mask-brltty   stop brltty from grabbing CH340 adapters (see the message it prints)
#   ./install.sh --uninstall [--system]         remove what the matching install put in place
# Options: --prefix DIR (where bin/ and share/ go), --app-dir DIR, --root DIR (stage everything under DIR,
# as a package build would; no system commands run), --bundle DIR (the PyInstaller folder), --dry-run
# (print each action, change nothing).
set -euo pipefail

APP=prop-desktop
RULE_NAME=70-prop-desktop.rules
BRLTTY_RULE=85-brltty.rules
ICON_SIZES=(16 22 24 32 48 64 128 256 512)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." 2>/dev/null && pwd || echo "$here")

mode=user
action=install
udev_only=0
mask_brltty=0
dialout_user=""
want_dialout=0
dry_run=0
root=""
prefix=""
app_dir=""
bundle=""

ORIG_ARGS="$*"
die() { echo "install.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --system) mode=system ;;
    --user) mode=user ;;
    --uninstall) action=uninstall ;;
    --udev-rule) udev_only=1 ;;
    --mask-brltty) mask_brltty=1 ;;
    --add-to-dialout)
      want_dialout=1
      if [ $# -gt 1 ] && [ "${2#--}" = "$2" ]; then dialout_user=$2; shift; fi ;;
    --dry-run) dry_run=1 ;;
    --root) [ $# -gt 1 ] || die "--root needs a folder"; root=${2%/}; shift ;;
    --prefix) [ $# -gt 1 ] || die "--prefix needs a folder"; prefix=${2%/}; shift ;;
    --app-dir) [ $# -gt 1 ] || die "--app-dir needs a folder"; app_dir=${2%/}; shift ;;
    --bundle) [ $# -gt 1 ] || die "--bundle needs a folder"; bundle=${2%/}; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done

if [ "$mode" = system ]; then
  prefix=${prefix:-/usr/local}
  app_dir=${app_dir:-/opt/$APP}
else
  prefix=${prefix:-$HOME/.local}
  app_dir=${app_dir:-$prefix/lib/$APP}
fi
udev_dir=/etc/udev/rules.d

# Everything root-only (udev, groups, brltty) is skipped when staging into --root or dry-running.
live=1
{ [ -n "$root" ] || [ "$dry_run" = 1 ]; } && live=0

run() {
  if [ "$dry_run" = 1 ]; then
    echo "would run: $*"
  else
    "$@"
  fi
}

need_root() {
  [ "$live" = 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "$1 needs root: run it again with sudo (sudo $0 $ORIG_ARGS)."
}

first_existing() {
  for candidate in "$@"; do
    [ -e "$candidate" ] && { echo "$candidate"; return 0; }
  done
  return 1
}

# The payload sits beside this script in the tarball; in a source checkout it is spread over the repo.
find_payload() {
  if [ -z "$bundle" ]; then
    bundle=$(first_existing "$here/$APP" "$repo/dist/$APP") \
      || die "no app bundle found next to this script or in dist/: build it first (installer/linux/build.sh)."
  fi
  [ -x "$bundle/$APP" ] || die "$bundle/$APP is missing or not executable: is --bundle the PyInstaller folder?"
  icons=$(first_existing "$here/icons" "$repo/resources/icons") || die "no icons/ folder next to this script."
  desktop_file=$(first_existing "$here/$APP.desktop") || die "no $APP.desktop next to this script."
}

rule_file() {
  first_existing "$here/$RULE_NAME" || die "no $RULE_NAME next to this script."
}

dialout_group() {
  # Debian, Ubuntu, Fedora: dialout. Arch: uucp.
  if getent group dialout >/dev/null 2>&1; then echo dialout; elif getent group uucp >/dev/null 2>&1; then echo uucp
  else echo dialout; fi
}

install_app() {
  find_payload
  local dest_app="$root$app_dir" dest_prefix="$root$prefix"
  echo "Installing $APP into $dest_app"
  run rm -rf "$dest_app"
  run mkdir -p "$dest_app" "$dest_prefix/bin" "$dest_prefix/share/applications"
  run cp -a "$bundle/." "$dest_app/"
  run ln -sfn "$app_dir/$APP" "$dest_prefix/bin/$APP"
  # The menu entry names the installed command by absolute path: ~/.local/bin is not on every
  # desktop session's PATH.
  if [ "$dry_run" = 1 ]; then
    echo "would write: $dest_prefix/share/applications/$APP.desktop (Exec=$app_dir/$APP)"
  else
    sed -e "s|^Exec=.*|Exec=$app_dir/$APP|" -e "s|^TryExec=.*|TryExec=$app_dir/$APP|" \
      "$desktop_file" > "$dest_prefix/share/applications/$APP.desktop"
  fi
  for size in "${ICON_SIZES[@]}"; do
    run install -D -m 0644 "$icons/$APP-$size.png" "$dest_prefix/share/icons/hicolor/${size}x${size}/apps/$APP.png"
  done
  run install -D -m 0644 "$icons/$APP.svg" "$dest_prefix/share/icons/hicolor/scalable/apps/$APP.svg"
  refresh_desktop_caches "$dest_prefix/share"
  echo "Installed. Start it from your applications menu or run: $prefix/bin/$APP"
}

refresh_desktop_caches() {
  [ "$live" = 1 ] || return 0
  # Optional helpers: menus pick the entry up without them, just later.
  if command -v update-desktop-database >/dev/null; then update-desktop-database -q "$1/applications" || true; fi
  if command -v gtk-update-icon-cache >/dev/null; then gtk-update-icon-cache -q -f -t "$1/icons/hicolor" || true; fi
}

install_udev_rule() {
  need_root "Installing the udev rule"
  local rule
  rule=$(rule_file)
  echo "Installing the udev rule $udev_dir/$RULE_NAME (USB serial adapters: access for the desktop user,"
  echo "  dialout group, no ModemManager probing, 1 ms FTDI latency, /dev/prop-arm symlink)"
  run install -D -m 0644 "$rule" "$root$udev_dir/$RULE_NAME"
  if [ "$live" = 1 ] && command -v udevadm >/dev/null; then
    udevadm control --reload-rules && udevadm trigger --subsystem-match=tty --subsystem-match=usb-serial --action=add
    echo "udev rules reloaded: unplug and replug the arm's USB cable if it was connected."
  elif [ "$live" = 1 ]; then
    echo "udevadm not found: the rule takes effect after a reboot."
  fi
}

add_to_dialout() {
  need_root "Adding a user to the dialout group"
  local user=${dialout_user:-${SUDO_USER:-${USER:-}}} group
  group=$(dialout_group)
  [ -n "$user" ] || die "say which user to add: --add-to-dialout NAME"
  echo "Adding $user to the $group group (takes effect at their next login)"
  if [ "$live" = 1 ]; then usermod -aG "$group" "$user"; else echo "would run: usermod -aG $group $user"; fi
}

brltty_rule_path() {
  first_existing /usr/lib/udev/rules.d/$BRLTTY_RULE /lib/udev/rules.d/$BRLTTY_RULE
}

explain_brltty() {
  local packaged
  packaged=$(brltty_rule_path) || return 0
  if [ -L "$udev_dir/$BRLTTY_RULE" ] && [ "$(readlink "$udev_dir/$BRLTTY_RULE")" = /dev/null ]; then
    return 0
  fi
  cat <<EOF

Note: brltty (a screen reader for braille displays) is installed, and its udev rule $packaged
claims some USB serial chips, including the CH340 on many SO-100/SO-101 driver boards: the arm's
/dev/ttyUSB0 appears and vanishes a second later ("interface 0 claimed by ch341 while 'brltty' sets
config #1" in dmesg). If nobody here uses a braille display, either remove it:
    sudo apt remove brltty
or keep it and stop it from grabbing serial adapters:
    sudo $0 --mask-brltty
(links $udev_dir/$BRLTTY_RULE to /dev/null and masks brltty-udev.service; undo with
 sudo rm $udev_dir/$BRLTTY_RULE && sudo systemctl unmask brltty-udev.service).
EOF
}

mask_brltty_rule() {
  need_root "Masking brltty's udev rule"
  echo "Masking brltty's udev rule: $udev_dir/$BRLTTY_RULE -> /dev/null"
  run mkdir -p "$root$udev_dir"
  run ln -sfn /dev/null "$root$udev_dir/$BRLTTY_RULE"
  if [ "$live" = 1 ]; then
    systemctl mask brltty-udev.service 2>/dev/null || true
    systemctl stop brltty-udev.service 2>/dev/null || true
    if command -v udevadm >/dev/null; then udevadm control --reload-rules || true; fi
  fi
}

uninstall() {
  echo "Removing $APP from $root$app_dir and $root$prefix"
  run rm -rf "$root$app_dir"
  run rm -f "$root$prefix/bin/$APP" "$root$prefix/share/applications/$APP.desktop"
  for size in "${ICON_SIZES[@]}"; do
    run rm -f "$root$prefix/share/icons/hicolor/${size}x${size}/apps/$APP.png"
  done
  run rm -f "$root$prefix/share/icons/hicolor/scalable/apps/$APP.svg"
  if [ "$mode" = system ] || [ "$udev_only" = 1 ]; then
    need_root "Removing the udev rule"
    run rm -f "$root$udev_dir/$RULE_NAME"
    if [ "$live" = 1 ] && command -v udevadm >/dev/null; then udevadm control --reload-rules || true; fi
  fi
  refresh_desktop_caches "$root$prefix/share"
  echo "Your profiles, keys and recordings are kept (app data folder and OS keyring); delete profiles"
  echo "in the app first if you want them gone."
}

if [ "$action" = uninstall ]; then
  uninstall
  exit 0
fi

if [ "$udev_only" = 0 ]; then
  [ "$mode" = system ] && need_root "A system-wide install (--system)"
  install_app
fi
if [ "$mode" = system ] || [ "$udev_only" = 1 ]; then
  install_udev_rule
fi
[ "$want_dialout" = 1 ] && add_to_dialout
[ "$mask_brltty" = 1 ] && mask_brltty_rule
if [ "$mask_brltty" = 0 ]; then explain_brltty; fi
if [ "$mode" = user ] && [ "$udev_only" = 0 ]; then
  echo
  echo "To use a real arm without sudo, also install the udev rule once: sudo $0 --udev-rule"
fi
exit 0
