"""`prop-desktop dataset export/import` as a person uses it: consent for plaintext, clear errors, exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from prop_desktop.cli.main import main

from .conftest import FIXTURES

pytestmark = pytest.mark.timeout(120)


def test_export_without_yes_refuses_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["dataset", "export", "Ana", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "NOT encrypted" in err and "--yes" in err and "nothing was written" in err
    assert not out.exists()


def test_a_bad_repo_id_is_named(tmp_path, capsys):
    assert main(["dataset", "export", "Ana", "--out", str(tmp_path / "ds"), "--repo-id", "no slash", "--yes"]) == 2
    assert "must look like owner/name" in capsys.readouterr().err


@pytest.mark.secret_service
def test_import_then_export_from_the_command_line(real_household, tmp_path, capsys):
    assert main(["profile", "create", "Ana", "--shared"]) == 0
    capsys.readouterr()
    assert main(["dataset", "import", "Ana", str(FIXTURES / "lerobot_so101_with_video")]) == 2
    assert "--task" in capsys.readouterr().err  # "Pick up the cube" is not one of our tasks
    assert main(["dataset", "import", "Ana", str(FIXTURES / "lerobot_so101_with_video"), "--task", "pick"]) == 0
    out = capsys.readouterr().out
    assert "note: skipped the camera feature 'observation.images.front'" in out
    assert "Imported 2 episode(s), 41 frames at 30 fps (so101_follower) into 'Ana', sealed." in out
    assert main(["profile", "verify", "Ana"]) == 0
    assert "2 episode(s)" in capsys.readouterr().out

    target = tmp_path / "export"
    assert main(["dataset", "export", "Ana", "--out", str(target), "--repo-id", "local/ana", "--yes"]) == 0
    out = capsys.readouterr().out
    assert f'LeRobotDataset("local/ana", root="{target}")' in out
    info = json.loads((target / "meta/info.json").read_text())
    assert (info["total_episodes"], info["total_frames"], info["fps"]) == (2, 41, 30)
    assert "observation.images.front" not in info["features"]
    # the original LeRobot task texts survive the trip
    import pyarrow.parquet as pq

    tasks = set(pq.read_table(target / "meta/tasks.parquet").column("task").to_pylist())
    assert tasks == {"Pick up the cube", "serve"}
    ours = pq.read_table(target / "data/chunk-000/file-000.parquet").column("observation.state").to_pylist()
    theirs = pq.read_table(FIXTURES / "lerobot_so101_with_video/data/chunk-000/file-000.parquet")
    # same episodes in the same order, values within 1e-3 in LeRobot units
    np.testing.assert_allclose(np.array(ours), np.array(theirs.column("observation.state").to_pylist()), atol=1e-3)

    assert main(["dataset", "import", "Ana", str(tmp_path / "nowhere")]) == 2
    assert "is not a LeRobot dataset folder" in capsys.readouterr().err


def test_a_passphrase_protected_profile_imports_with_its_passphrase_on_stdin(tmp_path, monkeypatch, capsys):
    import io
    import sys

    from prop_desktop.storage import Household
    from tests.keys.keyring_fakes import MemoryKeyring

    household = Household(tmp_path / "data", keyring_backend=MemoryKeyring())
    household.create_profile("Ana", passphrase="violet tractor 47 lantern")
    monkeypatch.setattr("prop_desktop.cli.dataset._household", lambda: household)
    monkeypatch.setattr(sys, "stdin", io.StringIO("violet tractor 47 lantern\n"))
    folder = str(FIXTURES / "lerobot_so101_with_video")
    assert main(["dataset", "import", "Ana", folder, "--task", "pick", "--passphrase-stdin"]) == 0
    assert "Imported 2 episode(s)" in capsys.readouterr().out
