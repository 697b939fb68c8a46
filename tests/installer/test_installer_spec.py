"""The PyInstaller spec, executed with recording stand-ins for PyInstaller's build classes: what it bundles,
excludes and prunes on each platform. (Building for real takes minutes: installer/linux/ci-bundle.sh.)"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "installer" / "prop_desktop.spec"

# What the one-folder build may contain, as PyInstaller's (destination, source, kind) entries.
SAMPLE_ENTRIES = [
    "resources/base_policy.safetensors",
    "resources/icons/prop-desktop-256.png",
    "torch/lib/libtorch_cpu.so",
    "torch/lib/libtorch_python.so",
    "torch/lib/libgomp.so.1",
    "torch/bin/torch_shm_manager",
    "torch/_C.cpython-311-x86_64-linux-gnu.so",
    "torch/test/atest",
    "torch/bin/test_api",
    "torch/bin/protoc",
    "torch/include/ATen/ATen.h",
    "torch/share/cmake/Torch/TorchConfig.cmake",
    "torch/lib/libtorchbind_test.so",
    "torch/lib/libjitbackend_test.so",
    "PySide6/Qt/plugins/platforms/libqxcb.so",
    "PySide6/Qt/plugins/platforms/libqoffscreen.so",
    "PySide6/Qt/translations/qtbase_de.qm",
    "numpy/__init__.pyi",
    "numpy.libs/libscipy_openblas64_-32a4b2a6.so",
    "libpython3.11.so.1.0",
]
MUST_KEEP = {entry for entry in SAMPLE_ENTRIES if not entry.startswith(("torch/test", "torch/include", "torch/share"))}
MUST_KEEP -= {
    "torch/bin/test_api",
    "torch/bin/protoc",
    "torch/lib/libtorchbind_test.so",
    "torch/lib/libjitbackend_test.so",
    "PySide6/Qt/translations/qtbase_de.qm",
    "numpy/__init__.pyi",
}


class Recorder:
    def __init__(self) -> None:
        self.analysis: dict = {}
        self.exes: list[dict] = []
        self.collect: dict = {}
        self.bundle: dict | None = None
        self.submodules_of: list[str] = []


def run_spec(platform: str, monkeypatch: pytest.MonkeyPatch, workpath: Path) -> tuple[Recorder, dict]:
    """Execute the spec as PyInstaller would, with sample inputs under `workpath` (a temporary folder)."""
    record = Recorder()
    fake_sources(workpath)

    class Analysis:
        def __init__(self, scripts: list[str], **options) -> None:
            record.analysis = {"scripts": scripts, **options}
            self.datas = [(dest, f"{workpath}/src/{dest}", "DATA") for dest in SAMPLE_ENTRIES]
            self.binaries = [(dest, f"{workpath}/src/{dest}", "BINARY") for dest in SAMPLE_ENTRIES]
            self.pure, self.scripts = [], []

    def exe(*_args, **options):
        record.exes.append(options)
        return options["name"]

    def collect(*args, **options):
        record.collect = {"args": args, **options}
        return "collected"

    def bundle(*_args, **options):
        record.bundle = options

    def collect_submodules(package: str) -> list[str]:
        record.submodules_of.append(package)
        return [package + ".cli.main"]

    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.collect_submodules = collect_submodules  # type: ignore[attr-defined]
    for name in ("PyInstaller", "PyInstaller.utils"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", hooks)
    monkeypatch.setattr(sys, "platform", platform)
    namespace = {
        "SPECPATH": str(SPEC.parent),
        "workpath": str(workpath),
        "Analysis": Analysis,
        "PYZ": lambda pure: "pyz",
        "EXE": exe,
        "COLLECT": collect,
        "BUNDLE": bundle,
        "__name__": "__main__",
    }
    exec(compile(SPEC.read_text(), str(SPEC), "exec"), namespace)  # noqa: S102 - our own build file
    return record, namespace


def test_bundles_resources_and_every_app_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    record, _ = run_spec("linux", monkeypatch, tmp_path)
    assert (str(REPO / "resources"), "resources") in record.analysis["datas"]
    assert record.analysis["scripts"] == [str(REPO / "installer" / "entry.py")]
    assert (REPO / "installer" / "entry.py").is_file()
    # cli/main.py imports subcommands by name, invisible to PyInstaller's scan.
    assert record.submodules_of == ["prop_desktop"]
    assert "prop_desktop.cli.main" in record.analysis["hiddenimports"]
    assert record.analysis["optimize"] == 0


def test_excludes_other_qt_bindings_and_heavy_unused_qt_modules(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    record, _ = run_spec("linux", monkeypatch, tmp_path)
    excludes = set(record.analysis["excludes"])
    for name in ["PyQt5", "PyQt6", "PySide2", "tkinter", "PySide6.QtWebEngineCore", "PySide6.Qt3DCore",
                 "PySide6.QtQuick", "PySide6.QtQml", "PySide6.QtMultimedia", "pyqtgraph.opengl"]:  # fmt: skip
        assert name in excludes
    for essential in ["PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "torch", "numpy", "keyring"]:
        assert essential not in excludes


def test_excluded_qt_module_names_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A misspelt exclude silently excludes nothing; PySide6 ships a .pyi stub for every module it knows.
    pyside = pytest.importorskip("PySide6")
    known = {path.stem for path in Path(pyside.__file__).parent.glob("Qt*.pyi")}
    record, _ = run_spec("linux", monkeypatch, tmp_path)
    for name in record.analysis["excludes"]:
        if name.startswith("PySide6."):
            assert name.removeprefix("PySide6.") in known, f"{name} is not a PySide6 module"


def imported_modules(source_root: Path) -> dict[str, str]:
    """Every module the app's code imports (absolute imports), mapped to one file that imports it."""
    found: dict[str, str] = {}
    for path in source_root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                found.setdefault(name, str(path.relative_to(REPO)))
    return found


def test_the_app_imports_nothing_the_bundle_excludes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    record, _ = run_spec("linux", monkeypatch, tmp_path)
    excludes = record.analysis["excludes"]
    for module, where in imported_modules(REPO / "prop_desktop").items():
        for excluded in excludes:
            assert module != excluded and not module.startswith(excluded + "."), (
                f"{where} imports {module}, which installer/prop_desktop.spec excludes: the frozen app would fail"
            )


def fake_sources(workpath: Path) -> None:
    """Every sample entry as a file; the shared libraries are copies of a small real, unstripped ELF library."""
    elf = pytest.importorskip("torch").__file__.replace("__init__.py", "lib/libshm.so")
    for dest in SAMPLE_ENTRIES:
        source = workpath / "src" / dest
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(Path(elf).read_bytes() if ".so" in dest else b"data")


IMPORT_EVERYTHING_WITHOUT = """
import importlib, importlib.abc, os, pkgutil, sys
excluded = os.environ["BUNDLE_EXCLUDES"].split()


class Excluded(importlib.abc.MetaPathFinder):
    # Behave like the bundle: a module the spec excludes is simply not there.
    def find_spec(self, name, path=None, target=None):
        if any(name == item or name.startswith(item + ".") for item in excluded):
            raise ModuleNotFoundError(f"No module named {name!r} (excluded from the bundle)", name=name)
        return None


sys.meta_path.insert(0, Excluded())
import prop_desktop
for module in pkgutil.walk_packages(prop_desktop.__path__, "prop_desktop."):
    if not module.name.endswith("__main__"):  # importing it would run the app
        importlib.import_module(module.name)
print("imported", len(sys.modules))
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_every_app_module_imports_with_the_excluded_modules_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Catches third-party hard imports too (pyqtgraph imports PySide6.QtOpenGL unconditionally).
    record, _ = run_spec("linux", monkeypatch, tmp_path)
    monkeypatch.undo()  # the real sys.platform and sys.modules again for the child process
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING_WITHOUT],
        capture_output=True,
        text=True,
        timeout=110,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "BUNDLE_EXCLUDES": " ".join(record.analysis["excludes"])},
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_prunes_torch_test_binaries_and_headers_but_keeps_what_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    record, namespace = run_spec("linux", monkeypatch, tmp_path)
    kept = {dest for dest, _, _ in record.collect["args"][2]}  # COLLECT(exe, binaries, datas, ...)
    assert MUST_KEEP <= kept, f"pruned something the app needs: {MUST_KEEP - kept}"
    assert not kept & (set(SAMPLE_ENTRIES) - MUST_KEEP), "kept test binaries or headers"


def test_linux_build_is_one_console_executable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    record, _ = run_spec("linux", monkeypatch, tmp_path)
    assert [exe["name"] for exe in record.exes] == ["prop-desktop"]
    assert record.exes[0]["console"] is True
    assert record.collect["name"] == "prop-desktop" and record.bundle is None


@pytest.mark.skipif(not shutil.which("strip"), reason="binutils' strip not installed")
def test_linux_strips_only_torch_libraries_never_patched_wheel_libraries(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # PyInstaller's global strip=True corrupts auditwheel-patched libraries (numpy's OpenBLAS no longer loads).
    record, _ = run_spec("linux", monkeypatch, tmp_path)
    assert all(exe["strip"] is False for exe in record.exes) and record.collect["strip"] is False
    sources = {dest: Path(source) for dest, source, _ in record.collect["args"][1]}
    for dest in ["torch/lib/libtorch_cpu.so", "torch/lib/libtorch_python.so", "libpython3.11.so.1.0"]:
        assert sources[dest].is_relative_to(tmp_path / "stripped")
        assert sources[dest].stat().st_size < (tmp_path / "src" / dest).stat().st_size
    for dest in ["numpy.libs/libscipy_openblas64_-32a4b2a6.so", "torch/lib/libgomp.so.1"]:
        assert sources[dest] == tmp_path / "src" / dest


def test_windows_build_has_a_windowed_app_and_a_console_twin_with_the_ico(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    record, _ = run_spec("win32", monkeypatch, tmp_path)
    consoles = {exe["name"]: exe["console"] for exe in record.exes}
    assert consoles == {"prop-desktop": False, "prop-desktop-cli": True}
    assert all(exe["icon"].endswith("prop-desktop.ico") and Path(exe["icon"]).is_file() for exe in record.exes)
    assert all(exe["strip"] is False for exe in record.exes)


def test_macos_build_makes_an_app_bundle_with_icns_and_version(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    record, namespace = run_spec("darwin", monkeypatch, tmp_path)
    assert record.bundle is not None
    assert record.bundle["name"] == "PRoP Desktop.app"
    assert Path(record.bundle["icon"]).is_file() and record.bundle["icon"].endswith(".icns")
    assert record.bundle["bundle_identifier"] == "org.propdesktop.PRoPDesktop"
    import prop_desktop

    assert record.bundle["info_plist"]["CFBundleShortVersionString"] == prop_desktop.__version__
    assert all(exe["strip"] is False for exe in record.exes)  # stripping breaks code signatures
    assert [exe["console"] for exe in record.exes] == [False]
    assert Path(record.exes[0]["entitlements_file"]).is_file()
    assert record.exes[0]["codesign_identity"] is None  # ad hoc unless PROP_DESKTOP_CODESIGN_IDENTITY is set


def test_frozen_resources_dir_is_inside_pyinstaller_6_internal_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from prop_desktop import paths

    internal = tmp_path / "prop-desktop" / "_internal"  # PyInstaller 6 sets sys._MEIPASS to this folder
    monkeypatch.setattr(sys, "_MEIPASS", str(internal), raising=False)
    assert paths.resources_dir() == internal / "resources"
    monkeypatch.delattr(sys, "_MEIPASS")
    assert paths.resources_dir() == REPO / "resources"
