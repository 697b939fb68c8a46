"""Windows and macOS packaging cannot run here; check that their scripts agree with the spec and the repo."""

from __future__ import annotations

import plistlib
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ISS = REPO / "installer" / "windows" / "prop-desktop.iss"


def iss_sections() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for line in ISS.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(";") or line.startswith("#"):
            continue
        header = re.fullmatch(r"\[(\w+)\]", line)
        if header:
            current = header.group(1)
            sections[current] = []
        else:
            sections.setdefault(current, []).append(line)
    return sections


def test_inno_setup_installs_the_pyinstaller_folder_as_a_64_bit_app() -> None:
    sections = iss_sections()
    setup = dict(line.split("=", 1) for line in sections["Setup"])
    assert setup["AppId"].startswith("{{")  # a literal brace is doubled in Inno Setup
    assert setup["ArchitecturesInstallIn64BitMode"] == "x64compatible"
    assert setup["DefaultDirName"] == r"{autopf}\{#AppName}"
    source = sections["Files"][0]
    assert r'Source: "{#Root}\dist\prop-desktop\*"' in source and "recursesubdirs" in source


def test_inno_setup_paths_exist_relative_to_the_script() -> None:
    text = ISS.read_text()
    root = re.search(r'#define Root "([^"]+)"', text).group(1).replace("\\", "/")
    base = (ISS.parent / root).resolve()
    assert base == REPO
    icon = re.search(r"SetupIconFile=\{#Root\}\\(.+)", text).group(1).strip().replace("\\", "/")
    assert (base / icon).is_file()


def test_start_menu_shortcut_runs_the_windowed_exe_the_spec_builds() -> None:
    icons = iss_sections()["Icons"]
    assert any(r'{autoprograms}\{#AppName}"; Filename: "{app}\prop-desktop.exe"' in line for line in icons)
    spec = (REPO / "installer" / "prop_desktop.spec").read_text()
    assert 'APP_NAME = "prop-desktop"' in spec and "console=IS_LINUX" in spec


def test_macos_entitlements_are_a_valid_plist_without_sandbox() -> None:
    entitlements = plistlib.loads((REPO / "installer" / "macos" / "entitlements.plist").read_bytes())
    assert entitlements == {"com.apple.security.cs.allow-unsigned-executable-memory": True}
