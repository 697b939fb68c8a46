"""`prop-desktop profile ...` as a person or a script uses it, against the real Secret Service."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(120)
CODE = re.compile(r"^\s+([0-9A-Z]{5}(?:-[0-9A-Z]{5}){6})\s*$", re.M)


def _cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The CLI in-process (fast), with stdin a pipe as in CI; `env` runs it as a real subprocess instead."""
    if env is None and _CAPTURE:
        capsys, monkeypatch = _CAPTURE[-1]
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        from prop_desktop.cli.main import main

        code = main(["profile", *args])
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out.out, out.err)
    return subprocess.run(
        [sys.executable, "-m", "prop_desktop", "profile", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=60,
        env=env or dict(os.environ),
    )


_CAPTURE: list = []


@pytest.fixture
def in_process(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch):
    _CAPTURE.append((capsys, monkeypatch))
    yield
    _CAPTURE.pop()


def _code(output: str) -> str:
    codes = CODE.findall(output)
    assert len(codes) == 1, output  # printed exactly once
    return codes[0]


@pytest.mark.secret_service
@pytest.mark.slow
def test_cli_life_cycle(secret_service, in_process) -> None:
    created = _cli("create", "Ana", "--shared", env=dict(os.environ))  # once as a real process
    assert created.returncode == 0, created.stderr
    ana_code = _code(created.stdout)
    assert "shown only this once" in created.stdout
    bo = _cli("create", "Bo", "--passphrase-stdin", stdin="tall tree 9\n")
    assert bo.returncode == 0, bo.stderr
    bo_code = _code(bo.stdout)

    listing = _cli("list")
    assert listing.returncode == 0 and re.search(r"^\* Ana\s+anyone here", listing.stdout, re.M)
    assert re.search(r"^  Bo\s+passphrase", listing.stdout, re.M)
    for line in listing.stdout.splitlines():
        secret_service.created_usernames.extend(re.findall(r"[0-9a-f]{8}-[0-9a-f-]{27}", line))

    # No terminal, no passphrase given: a clear error, never a prompt that would hang.
    no_tty = _cli("verify", "Bo")
    assert no_tty.returncode == 2 and "--passphrase-stdin" in no_tty.stderr and "Traceback" not in no_tty.stderr
    assert _cli("verify", "Bo", "--passphrase-stdin", stdin="tall tree 9\n").returncode == 0
    wrong = _cli("verify", "Bo", "--passphrase-stdin", stdin="tall tree 8\n")
    assert wrong.returncode == 2 and "wrong passphrase" in wrong.stderr

    assert _cli("switch", "bo").returncode == 0
    assert re.search(r"^\* Bo", _cli("list").stdout, re.M)
    assert _cli("rename", "Bo", "Bob").returncode == 0

    rotated = _cli("rotate", "Ana")
    assert rotated.returncode == 0, rotated.stderr
    new_code = _code(rotated.stdout)
    assert new_code != ana_code
    old = _cli("restore", "Ana", "--code-stdin", stdin=ana_code + "\n")
    assert old.returncode == 2 and "different key" in old.stderr
    typo = new_code[:20] + ("Z" if new_code[20] != "Z" else "Y") + new_code[21:]
    bad = _cli("restore", "Ana", "--code-stdin", stdin=typo + "\n")
    assert bad.returncode == 2 and "check group 4" in bad.stderr
    restored = _cli("restore", "Ana", "--code-stdin", "--passphrase-stdin", stdin=f"{new_code}\nnew pass 1\n")
    assert restored.returncode == 0, restored.stderr
    assert _cli("verify", "Ana", "--passphrase-stdin", stdin="new pass 1\n").returncode == 0

    assert _cli("delete", "Bob").returncode == 2  # no terminal to confirm: needs --yes
    assert _cli("delete", "Bob", "--yes").returncode == 0
    refused = _cli("restore", "Bob", "--code-stdin", stdin=bo_code + "\n")  # no passphrase, no --shared
    assert refused.returncode == 2 and "--shared" in refused.stderr and "--passphrase" in refused.stderr
    gone = _cli("restore", "Bob", "--code-stdin", "--shared", stdin=bo_code + "\n")  # a new name creates it
    assert gone.returncode == 0
    assert _cli("delete", "Bob", "--yes").returncode == 0
    assert _cli("delete", "Ana", "--yes").returncode == 0
    assert "No profiles yet" in _cli("list").stdout


def test_cli_refuses_an_insecure_keyring() -> None:
    env = dict(os.environ, PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    result = _cli("create", "Ana", "--shared", env=env)
    assert result.returncode == 2
    assert "Refusing to store your key" in result.stderr and "recovery code" in result.stderr
    assert "Traceback" not in result.stderr and not CODE.search(result.stdout)
    assert "No profiles yet" in _cli("list", env=env).stdout


def test_cli_unknown_profile_and_missing_stdin(in_process) -> None:
    result = _cli("switch", "Nobody")
    assert result.returncode == 2 and "no profile named 'Nobody'" in result.stderr
    result = _cli("restore", "Ana", "--code-stdin", stdin="")
    assert result.returncode == 2 and "standard input" in result.stderr
    result = _cli("restore", "Ana")
    assert result.returncode == 2 and "not a terminal" in result.stderr


def test_cli_unusable_data_folder(in_process, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    monkeypatch.setenv("PROP_DESKTOP_DATA_DIR", str(not_a_folder))
    result = _cli("list")
    assert result.returncode == 2 and "cannot use the data folder" in result.stderr
    assert str(not_a_folder) in result.stderr
