"""Linux desktop integration: the .desktop entry validates, install.sh puts every file where desktops and
udev look, --dry-run changes nothing, and uninstall removes what install added."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINUX = REPO / "installer" / "linux"
INSTALL = LINUX / "install.sh"
DESKTOP = LINUX / "prop-desktop.desktop"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def require_tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing on CI: scripts/setup.sh --test must install Debian's {package}")
        pytest.skip(f"{name} not installed (Debian: {package})")
    return path


def desktop_entry(path: Path) -> dict[str, str]:
    entry: dict[str, str] = {}
    for line in path.read_text().splitlines()[1:]:
        key, sep, value = line.partition("=")
        if sep:
            entry[key] = value
    return entry


def fake_bundle(tmp_path: Path) -> Path:
    """A stand-in for the PyInstaller folder: an executable prop-desktop and an _internal/ tree."""
    bundle = tmp_path / "bundle" / "prop-desktop"
    (bundle / "_internal" / "resources").mkdir(parents=True)
    (bundle / "_internal" / "resources" / "marker.txt").write_text("shipped")
    exe = bundle / "prop-desktop"
    exe.write_text("#!/bin/sh\necho prop-desktop 0.0-test\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return bundle


def run_install(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home)}
    return subprocess.run(["bash", str(INSTALL), *args], capture_output=True, text=True, env=env, timeout=60)


def test_desktop_entry_validates() -> None:
    validator = require_tool("desktop-file-validate", "desktop-file-utils")
    result = subprocess.run([validator, str(DESKTOP)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_desktop_entry_names_the_icon_and_command_the_installer_provides() -> None:
    entry = desktop_entry(DESKTOP)
    assert entry["Type"] == "Application"
    assert entry["Icon"] == "prop-desktop"  # looked up in hicolor, where install.sh puts the PNGs
    assert entry["Exec"].split()[0] == "prop-desktop"
    assert entry["Terminal"] == "false"
    # Wayland and X11 match windows to this entry by app id / WM class: the Qt app must set
    # QGuiApplication.setDesktopFileName("prop-desktop") for the same value.
    assert entry["StartupWMClass"] == "prop-desktop"


@pytest.mark.timeout(60)
def test_user_install_puts_app_menu_entry_and_icons_in_place(tmp_path: Path) -> None:
    home, prefix = tmp_path / "home", tmp_path / "home" / ".local"
    home.mkdir()
    result = run_install("--prefix", str(prefix), "--bundle", str(fake_bundle(tmp_path)), home=home)
    assert result.returncode == 0, result.stderr

    app = prefix / "lib" / "prop-desktop"
    assert (app / "_internal" / "resources" / "marker.txt").read_text() == "shipped"
    command = prefix / "bin" / "prop-desktop"
    assert command.is_symlink() and os.readlink(command) == str(app / "prop-desktop")
    assert subprocess.run([str(command)], capture_output=True, text=True).stdout.startswith("prop-desktop")
    for size in ICON_SIZES:
        assert (prefix / "share" / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "prop-desktop.png").is_file()
    assert (prefix / "share" / "icons" / "hicolor" / "scalable" / "apps" / "prop-desktop.svg").is_file()

    installed_entry = prefix / "share" / "applications" / "prop-desktop.desktop"
    entry = desktop_entry(installed_entry)
    # Absolute path: a desktop session's PATH often lacks ~/.local/bin.
    assert entry["Exec"] == str(app / "prop-desktop")
    assert entry["TryExec"] == str(app / "prop-desktop")
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(installed_entry)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout
    assert "sudo" in result.stdout and "--udev-rule" in result.stdout  # tells how to get serial access


@pytest.mark.timeout(60)
def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    home, prefix = tmp_path / "home", tmp_path / "prefix"
    home.mkdir()
    result = run_install("--dry-run", "--prefix", str(prefix), "--bundle", str(fake_bundle(tmp_path)), home=home)
    assert result.returncode == 0, result.stderr
    assert not prefix.exists()
    assert f"would run: cp -a {tmp_path}/bundle/prop-desktop/. {prefix}/lib/prop-desktop/" in result.stdout
    assert "hicolor/256x256/apps/prop-desktop.png" in result.stdout


@pytest.mark.timeout(60)
def test_system_install_staged_under_a_root_puts_the_udev_rule_in_etc(tmp_path: Path) -> None:
    home, root = tmp_path / "home", tmp_path / "root"
    home.mkdir()
    result = run_install("--system", "--root", str(root), "--bundle", str(fake_bundle(tmp_path)), home=home)
    assert result.returncode == 0, result.stderr
    assert (root / "opt" / "prop-desktop" / "prop-desktop").is_file()
    assert os.readlink(root / "usr" / "local" / "bin" / "prop-desktop") == "/opt/prop-desktop/prop-desktop"
    rule = root / "etc" / "udev" / "rules.d" / "70-prop-desktop.rules"
    assert rule.read_text() == (LINUX / "70-prop-desktop.rules").read_text()
    assert stat.S_IMODE(rule.stat().st_mode) == 0o644
    assert desktop_entry(root / "usr" / "local" / "share" / "applications" / "prop-desktop.desktop")["Exec"] == (
        "/opt/prop-desktop/prop-desktop"
    )


@pytest.mark.timeout(60)
def test_mask_brltty_links_its_rule_to_dev_null(tmp_path: Path) -> None:
    home, root = tmp_path / "home", tmp_path / "root"
    home.mkdir()
    result = run_install("--udev-rule", "--mask-brltty", "--root", str(root), home=home)
    assert result.returncode == 0, result.stderr
    masked = root / "etc" / "udev" / "rules.d" / "85-brltty.rules"
    assert masked.is_symlink() and os.readlink(masked) == "/dev/null"
    assert (root / "etc" / "udev" / "rules.d" / "70-prop-desktop.rules").is_file()
    assert not (root / "opt").exists(), "--udev-rule must not install the app"


@pytest.mark.timeout(60)
def test_uninstall_removes_what_install_added(tmp_path: Path) -> None:
    home, prefix = tmp_path / "home", tmp_path / "prefix"
    home.mkdir()
    assert run_install("--prefix", str(prefix), "--bundle", str(fake_bundle(tmp_path)), home=home).returncode == 0
    (prefix / "share" / "applications" / "someone-else.desktop").write_text("[Desktop Entry]\n")
    result = subprocess.run(
        ["bash", str(LINUX / "uninstall.sh"), "--prefix", str(prefix)],
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(home)},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # Desktop caches (mimeinfo.cache, icon-theme.cache) are rebuilt by the system's tools, not ours to delete.
    leftovers = sorted(
        str(path.relative_to(prefix))
        for path in prefix.rglob("*")
        if (path.is_file() or path.is_symlink()) and path.suffix != ".cache"
    )
    assert leftovers == ["share/applications/someone-else.desktop"]


def test_unknown_option_is_refused_with_a_hint(tmp_path: Path) -> None:
    result = run_install("--sytem", home=tmp_path)
    assert result.returncode != 0
    assert "unknown option '--sytem'" in result.stderr and "--help" in result.stderr


def test_missing_bundle_says_how_to_build_it(tmp_path: Path) -> None:
    result = run_install("--prefix", str(tmp_path / "p"), "--bundle", str(tmp_path / "nope"), home=tmp_path)
    assert result.returncode != 0
    assert "missing or not executable" in result.stderr


@pytest.mark.parametrize(
    "script", ["linux/install.sh", "linux/uninstall.sh", "linux/build.sh", "linux/ci-bundle.sh", "macos/build_app.sh"]
)
def test_shell_scripts_pass_shellcheck(script: str) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck not installed (Debian: shellcheck)")
    result = subprocess.run([shellcheck, str(REPO / "installer" / script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
