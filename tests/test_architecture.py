"""The layering of DESIGN.md, enforced: Qt only in ui/, the PRoP engine free of serial/keyring/storage."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "prop_desktop"
QT_MODULES = ("PySide6", "pyqtgraph", "shiboken6")
ENGINE_FORBIDDEN = QT_MODULES + (
    "serial",
    "keyring",
    "cryptography",
    "prop_desktop.arm",
    "prop_desktop.keys",
    "prop_desktop.storage",
    "prop_desktop.services",
    "prop_desktop.ui",
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _violations(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in files:
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    return found


def test_qt_is_imported_only_in_ui():
    files = [p for p in PACKAGE.rglob("*.py") if "ui" not in p.relative_to(PACKAGE).parts]
    assert _violations(files, QT_MODULES) == []


def test_engine_is_free_of_serial_keyring_storage_and_qt():
    assert _violations(list((PACKAGE / "prop").rglob("*.py")), ENGINE_FORBIDDEN) == []


def test_nothing_loads_pickles():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if "pickle.load" in text or ("torch.load(" in text and "weights_only=True" not in text):
            offenders.append(str(path))
    assert offenders == []
