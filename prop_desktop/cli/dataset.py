"""`prop-desktop dataset ...`: a profile's recordings to and from LeRobot datasets (v3.0, joint states only).

    export PROFILE --out DIR [--repo-id local/NAME] [--recording ID ...] [--calibration FILE] [--yes]
    import PROFILE DIR [--task NAME] [--calibration FILE]

Export writes plaintext (the dataset is not encrypted), so it refuses without --yes. Units and conventions:
docs/lerobot.md. Exit status: 0 ok, 2 error (nothing written or imported).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING

from prop_desktop.cli.profile import SecretInput, _guarded, _household, _passphrase_if_protected

if TYPE_CHECKING:
    from prop_desktop.interop.lerobot_units import NormMode
    from prop_desktop.storage import Household, UnlockedProfile

REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
UNITS = {"degrees": "degrees", "range": "range_m100_100"}


class ConsentMissing(ValueError):
    """The user has not agreed to write their recordings unencrypted."""


def _unlock(args: argparse.Namespace) -> tuple[Household, UnlockedProfile]:
    hh = _household()
    profile = hh.profile(args.profile)
    passphrase = _passphrase_if_protected(hh, profile, SecretInput(), args.passphrase_stdin)
    return hh, hh.unlock(profile, passphrase)


def _body_mode(args: argparse.Namespace) -> NormMode | None:
    from prop_desktop.interop.lerobot_units import NormMode

    return None if args.units is None else NormMode(UNITS[args.units])


def _cmd_export(args: argparse.Namespace) -> int:
    from prop_desktop.interop.lerobot_dataset import export_recordings

    if args.repo_id is not None and not REPO_ID.match(args.repo_id):
        raise ValueError(f"--repo-id {args.repo_id!r} must look like owner/name, e.g. local/my_demos")
    if not args.yes:
        raise ConsentMissing(
            "the exported dataset is NOT encrypted: anyone who can read that folder sees your demonstrations. "
            "Add --yes to export anyway (nothing was written)")
    hh, me = _unlock(args)
    result = export_recordings(me, Path(args.out), data_root=hh.root, recording_ids=args.recording,
                               calibration_file=args.calibration, body_mode=_body_mode(args))
    repo_id = args.repo_id or f"local/{result.folder.name}"
    for note in result.notes:
        print(f"note: {note}")
    print(f"Exported {result.episodes} recording(s), {result.frames} frames at {result.fps} fps "
          f"({result.robot_type}) to {result.folder} (unencrypted).")
    print(f'Load it with LeRobot: LeRobotDataset("{repo_id}", root="{result.folder}")')
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from prop_desktop.interop.lerobot_dataset import import_dataset

    _hh, me = _unlock(args)
    result = import_dataset(me, Path(args.folder), task=args.task, calibration_file=args.calibration,
                            body_mode=_body_mode(args))
    for note in result.notes:
        print(f"note: {note}")
    print(f"Imported {len(result.episode_ids)} episode(s), {result.frames} frames at {result.fps} fps "
          f"({result.robot_type}) into {me.profile.name!r}, sealed.")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dataset = subparsers.add_parser("dataset", help="export recordings as a LeRobot dataset, or import one")
    commands = dataset.add_subparsers(dest="dataset_command", metavar="<command>", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("profile", metavar="PROFILE", help="profile name (or id)")
        sub.add_argument("--calibration", type=Path, metavar="FILE",
                         help="the arm's LeRobot calibration JSON, so the units match what LeRobot reads from it "
                              "(default: the model's nominal calibration)")
        sub.add_argument("--units", choices=sorted(UNITS),
                         help="joints other than the gripper in degrees or -100..100 (default: LeRobot's for the "
                              "robot: degrees for SO-100/SO-101, range for Koch)")
        sub.add_argument("--passphrase-stdin", action="store_true", help="read the profile's passphrase from stdin")

    sub = commands.add_parser("export", help="write recordings as a LeRobotDataset v3.0 (unencrypted; needs --yes)")
    common(sub)
    sub.add_argument("--out", required=True, metavar="DIR", help="new folder for the dataset (outside the data folder)")
    sub.add_argument("--repo-id", metavar="OWNER/NAME", help="the repo id to load it under (default local/<folder>)")
    sub.add_argument("--recording", nargs="+", metavar="ID", help="only these recordings (default: all)")
    sub.add_argument("--yes", action="store_true", help="agree that the dataset is written unencrypted")
    sub.set_defaults(handler=_guarded(_cmd_export))

    sub = commands.add_parser("import", help="seal a LeRobot dataset's episodes into a profile (all or none)")
    common(sub)
    sub.add_argument("folder", metavar="DIR", help="the dataset folder (with meta/info.json)")
    sub.add_argument("--task", help="which PRoP Desktop task the episodes show, when their task text is not one")
    sub.set_defaults(handler=_guarded(_cmd_import))

