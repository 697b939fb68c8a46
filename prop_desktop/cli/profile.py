"""`prop-desktop profile ...`: household profiles and their keys from the command line.

    list | create NAME | rename NAME NEW | delete NAME | switch NAME | rotate NAME | restore NAME |
    passphrase NAME | verify NAME

Secrets are never taken as plain arguments by default: a passphrase or recovery code comes from a prompt
(only when stdin is a terminal) or, with --passphrase-stdin / --code-stdin, from stdin lines (recovery code
first, then passphrase, then a new passphrase). Exit status: 0 ok, 1 verify found problems, 2 error.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prop_desktop.storage import Household, Profile

EXIT_PROBLEMS = 1
EXIT_ERROR = 2

Handler = Callable[[argparse.Namespace], int]  # a subcommand: its exit status


class InputError(Exception):
    """A secret was needed but cannot be asked for."""


class SecretInput:
    """Secrets from stdin lines (in the order they are asked for) or from a terminal prompt; never a prompt
    on a pipe (CI and scripts have no one to answer it)."""

    def __init__(self) -> None:
        self._lines: list[str] | None = None

    def _next_line(self, what: str) -> str:
        if self._lines is None:
            self._lines = sys.stdin.read().splitlines()
        if not self._lines:
            raise InputError(f"expected the {what} on standard input, but it ended")
        return self._lines.pop(0).strip("\r")

    def read(self, what: str, flag: str, from_stdin: bool, confirm: bool = False) -> str:
        if from_stdin:
            return self._next_line(what)
        if not sys.stdin.isatty():
            raise InputError(f"the {what} is needed but standard input is not a terminal, so it cannot be asked "
                             f"for; pass it on standard input with {flag}")
        value = getpass.getpass(f"{what[0].upper()}{what[1:]}: ")
        if confirm and getpass.getpass(f"Repeat the {what}: ") != value:
            raise InputError(f"the two {what} entries differ; nothing was changed")
        return value


def _household() -> Household:
    from prop_desktop.storage import Household

    return Household()


def _print_code(name: str, code: str, what: str) -> None:
    print(f"{what} recovery code for {name!r} (shown only this once: write it down and keep it safe):")
    print()
    print(f"    {code}")
    print()
    print("You need it to restore this profile if its keyring entry is lost or on another computer.")
    print("Anyone who has it and a copy of the data folder can read this profile's demonstrations.")
    sys.stdout.flush()


def _find(hh: Household, args: argparse.Namespace) -> Profile:
    """The profile NAME names: by name only, or by id with --id (a name never selects a profile by its id)."""
    return hh.profile(args.name, by_id=bool(args.id))


def _passphrase_if_protected(hh: Household, profile: Profile, secrets: SecretInput, from_stdin: bool) -> str | None:
    if not hh.is_protected(profile):
        return None
    return secrets.read(f"passphrase of profile {profile.name!r}", "--passphrase-stdin", from_stdin)


def _cmd_list(args: argparse.Namespace) -> int:
    hh = _household()
    profiles = hh.list_profiles()
    if not profiles:
        print("No profiles yet. Create one with: prop-desktop profile create NAME")
        return 0
    active = hh.active()
    print(f"{'':2}{'name':24} {'unlocked by':12} {'created':20} id")
    for p in profiles:
        mark = "* " if active is not None and p.id == active.id else "  "
        how = "passphrase" if p.protected else "anyone here" if p.shared else "no choice"
        print(f"{mark}{p.name:24} {how:12} {p.created[:19].replace('T', ' '):20} {p.id}")
    print(f"\ndata folder: {hh.root}")
    return 0


def _cmd_create(args: argparse.Namespace) -> int:
    wants_passphrase = bool(args.passphrase or args.passphrase_stdin)
    if wants_passphrase == bool(args.shared):
        what = "both a passphrase and --shared were given" if args.shared else "no choice was made"
        raise InputError(
            f"{what}: a profile is private by default. Protect it with a passphrase (--passphrase to be asked, "
            "--passphrase-stdin to read it from stdin) so only this person can use their way, or add --shared "
            "if anyone at this computer may use it")
    hh = _household()
    passphrase = None
    if wants_passphrase:
        passphrase = SecretInput().read("new passphrase", "--passphrase-stdin", args.passphrase_stdin,
                                        confirm=not args.passphrase_stdin)
    from prop_desktop.storage.registry import clean_profile_name

    name = clean_profile_name(args.name)

    def show(code: str) -> None:  # before create_profile returns: a crash before it undoes the creation
        print(f"Created profile {name!r}; its key is in the keyring ({hh.keystore.describe()}).")
        _print_code(name, code, "The")

    profile, _ = hh.create_profile(args.name, passphrase=passphrase, shared=bool(args.shared), on_code=show)
    print(f"Profile id: {profile.id}")
    return 0


def _cmd_rename(args: argparse.Namespace) -> int:
    hh = _household()
    profile = hh.rename(_find(hh, args), args.new_name)
    print(f"Renamed to {profile.name!r} (id, key and data unchanged).")
    return 0


def _cmd_delete(args: argparse.Namespace) -> int:
    hh = _household()
    profile = _find(hh, args)
    if not args.yes:
        if not sys.stdin.isatty():
            raise InputError("deleting a profile cannot be undone; add --yes to confirm (stdin is not a terminal)")
        answer = input(f"Delete {profile.name!r} and all its demonstrations and adapters? Type the name to confirm: ")
        if answer.strip().casefold() != profile.name.casefold():
            print("Not deleted.")
            return EXIT_ERROR
    for warning in hh.delete(profile):
        print(f"warning: {warning}", file=sys.stderr)
    print(f"Deleted {profile.name!r}: its key is gone from the keyring and its files were removed.")
    return 0


def _cmd_switch(args: argparse.Namespace) -> int:
    hh = _household()
    profile = _find(hh, args)
    hh.set_active(profile)
    print(f"Active profile: {profile.name!r}.")
    return 0


def _cmd_rotate(args: argparse.Namespace) -> int:
    hh = _household()
    profile = _find(hh, args)
    passphrase = _passphrase_if_protected(hh, profile, SecretInput(), args.passphrase_stdin)
    hh.rotate(profile, passphrase, on_new_code=lambda code: _print_code(profile.name, code, "The NEW"))
    print("All files were resealed under the new key; the old recovery code no longer works.")
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from prop_desktop.keys import normalize_recovery_code

    hh = _household()
    secrets = SecretInput()
    if args.recovery_code is not None:
        code = args.recovery_code
    else:
        code = secrets.read("recovery code", "--code-stdin", args.code_stdin)
    code = normalize_recovery_code(code)  # report typos before asking anything else
    current = None
    if args.current_passphrase or args.current_passphrase_stdin:
        current = secrets.read("current passphrase", "--current-passphrase-stdin", args.current_passphrase_stdin)
    passphrase = None
    if args.passphrase or args.passphrase_stdin:
        passphrase = secrets.read("new passphrase", "--passphrase-stdin", args.passphrase_stdin,
                                  confirm=not args.passphrase_stdin)
    ref = _find(hh, args) if args.id else _existing_or_name(hh, args.name)
    from prop_desktop.storage import SecretChoiceNeeded

    try:
        outcome = hh.restore_outcome(ref, code, passphrase=passphrase, shared=bool(args.shared),
                                     current_passphrase=current, discard_unreadable=args.discard_unreadable)
    except SecretChoiceNeeded as exc:
        if passphrase is not None:
            raise
        raise InputError(f"without a new passphrase, {args.name!r} would be usable by anyone at this computer: "
                         "add --passphrase (asked for) or --passphrase-stdin to protect the restored key, or "
                         "--shared to choose that") from exc
    print(f"Restored the key of {outcome.profile.name!r} into the keyring"
          + (" (protected by the new passphrase)." if passphrase else "."))
    if outcome.left_unreadable:
        print(f"{len(outcome.left_unreadable)} file(s) are sealed with another key and were left as they are; "
              "restore again with that key's recovery code to bring them back:", file=sys.stderr)
        for problem in outcome.left_unreadable:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_PROBLEMS
    return 0


def _existing_or_name(hh: Household, name: str) -> Profile | str:
    from prop_desktop.storage import ProfileNotFound

    try:
        return hh.profile(name, by_id=False)
    except ProfileNotFound:
        return name  # a new computer: restore creates it (or finds the profile that has this key)


def _cmd_passphrase(args: argparse.Namespace) -> int:
    hh = _household()
    profile = _find(hh, args)
    secrets = SecretInput()
    old = _passphrase_if_protected(hh, profile, secrets, args.passphrase_stdin)
    new = None
    if not args.remove:
        new = secrets.read("new passphrase", "--passphrase-stdin", args.passphrase_stdin,
                           confirm=not args.passphrase_stdin)
    hh.change_passphrase(profile, old, new)
    state = "protected by the new passphrase." if new else "without a passphrase."
    print(f"The key of {profile.name!r} is now {state}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    hh = _household()
    profile = _find(hh, args)
    passphrase = _passphrase_if_protected(hh, profile, SecretInput(), args.passphrase_stdin)
    if args.accept:
        hh.accept_files(profile, passphrase)
        print(f"{profile.name!r}: the files as they are now are the reference for rollback checks.")
    problems = hh.verify(profile, passphrase)
    if problems:
        print(f"{profile.name!r}: {len(problems)} problem(s):")
        for problem in problems:
            print(f"  - {problem}")
        return EXIT_PROBLEMS
    unlocked = hh.unlock(profile, passphrase)
    print(f"{profile.name!r}: key OK, {len(unlocked.episodes.ids())} episode(s) and "
          f"{len(unlocked.adapters.hashes())} adapter(s) open and authenticate.")
    return 0


def _cmd_rebuild(args: argparse.Namespace) -> int:
    hh = _household()
    report = hh.rebuild_registry()
    if report.moved_registry is not None:
        print(f"The damaged registry was moved to {report.moved_registry}.")
    for profile in report.rebuilt:
        lock = " (passphrase)" if profile.protected else ""
        print(f"Found profile {profile.id}{lock}: listed as {profile.name!r}; rename it with "
              f"`prop-desktop profile rename --id {profile.id} NEW_NAME`, or restore it by its recovery code.")
    for profile_id in report.removed:
        print(f"Removed an unfinished profile creation ({profile_id}) and its key; its code was never shown.")
    for problem in report.kept_back:
        print(f"warning: not done now: {problem}", file=sys.stderr)
    if not (report.rebuilt or report.removed):
        print(f"The registry already lists every profile folder ({len(hh.list_profiles())} profile(s)).")
    return EXIT_PROBLEMS if report.kept_back else 0


def _guarded(handler: Handler) -> Handler:
    """Turn expected failures into one plain line on stderr (no traceback) and exit status 2."""

    def run(args: argparse.Namespace) -> int:
        from prop_desktop.keys import KeysError
        from prop_desktop.storage import StorageError

        try:
            return handler(args)
        except (KeysError, StorageError, InputError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_ERROR
        except OSError as exc:  # e.g. the data folder is not writable
            where = f" ({exc.filename})" if exc.filename else ""
            print(f"error: cannot use the data folder{where}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_ERROR
        except (KeyboardInterrupt, EOFError):
            print("\ncancelled; nothing was changed", file=sys.stderr)
            return EXIT_ERROR

    return run


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    profile = subparsers.add_parser("profile", help="household profiles: create, switch, delete, keys and recovery")
    commands = profile.add_subparsers(dest="profile_command", metavar="<command>", required=True)

    def add(name: str, handler: Handler, help_text: str, *, needs_name: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if needs_name:
            sub.add_argument("name", metavar="NAME", help="profile name (or its id, with --id)")
            sub.add_argument("--id", action="store_true", help="NAME is a profile id (as `list` shows it)")
        sub.set_defaults(handler=_guarded(handler))
        return sub

    add("list", _cmd_list, "list the profiles (* = active)", needs_name=False)
    sub = add("create", _cmd_create, "create a profile with a new key; prints its recovery code once")
    sub.add_argument("--passphrase", action="store_true", help="protect the key with a passphrase (asked for)")
    sub.add_argument("--passphrase-stdin", action="store_true",
                     help="protect the key with a passphrase read from stdin")
    sub.add_argument("--shared", action="store_true",
                     help="no passphrase: anyone at this computer may use this person's way (an explicit choice)")
    sub = add("rename", _cmd_rename, "rename a profile (its key and data stay)")
    sub.add_argument("new_name", metavar="NEW_NAME")
    sub = add("delete", _cmd_delete, "delete a profile: its key, demonstrations and adapters (cannot be undone)")
    sub.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add("switch", _cmd_switch, "make a profile the active one")
    sub = add("rotate", _cmd_rotate, "reseal everything under a new key; prints the new recovery code once")
    sub.add_argument("--passphrase-stdin", action="store_true", help="read the profile's passphrase from stdin")
    sub = add("restore", _cmd_restore, "put a profile's key back into the keyring from its recovery code "
                                       "(a new name creates the profile)")
    sub.add_argument("--code-stdin", action="store_true", help="read the recovery code from stdin (first line)")
    sub.add_argument("--recovery-code", metavar="CODE", help="the recovery code (visible in your shell history!)")
    sub.add_argument("--passphrase", action="store_true", help="protect the restored key with a new passphrase")
    sub.add_argument("--passphrase-stdin", action="store_true", help="read that new passphrase from stdin")
    sub.add_argument("--shared", action="store_true",
                     help="no passphrase: anyone at this computer may use the restored profile (a shared "
                          "profile stays shared without it)")
    sub.add_argument("--current-passphrase", action="store_true",
                     help="the passphrase of the current keyring entry (asked for), to keep the keys it holds")
    sub.add_argument("--current-passphrase-stdin", action="store_true",
                     help="read that current passphrase from stdin (after the recovery code)")
    sub.add_argument("--discard-unreadable", action="store_true",
                     help="restore even if files sealed with keys of a locked keyring entry stay unreadable")
    sub = add("passphrase", _cmd_passphrase, "add, change or remove the passphrase protecting a profile's key")
    sub.add_argument("--remove", action="store_true",
                     help="remove the passphrase: anyone at this computer may then use this person's way")
    sub.add_argument("--passphrase-stdin", action="store_true",
                     help="read the current passphrase (if any), then the new one, from stdin")
    add("rebuild", _cmd_rebuild, "rebuild the registry (profiles.json) from the profile folders and keyring "
                                 "entries, e.g. after it was lost or damaged", needs_name=False)
    sub = add("verify", _cmd_verify, "check the key and open every sealed file; exit status 1 on any problem")
    sub.add_argument("--passphrase-stdin", action="store_true", help="read the profile's passphrase from stdin")
    sub.add_argument("--accept", action="store_true",
                     help="after restoring a backup on purpose: accept the files as they are (no rollback report)")
