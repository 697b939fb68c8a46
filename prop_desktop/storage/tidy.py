"""Bring the registry and the keyring back in line with the profile folders, on start and by command.

The profile folders (`profiles/<uuid>/`) are the ground truth of what exists. Every start (and
`prop-desktop profile rebuild`) looks at each folder the registry does not name:

- it holds the `.creating` marker: a `create` was killed before its registry entry was written, so its
  recovery code was never shown. Its keyring entry and the folder are removed (no orphan keys);
- otherwise it is a profile whose registry entry was lost (profiles.json deleted, damaged or rolled back):
  the entry is rebuilt from the keyring entry (key id, passphrase or not) and from the key id in the files'
  headers, under the placeholder name "Profile 1a2b3c4d" until the user renames it. Restoring with the
  recovery code finds it by its key id. Nothing of it is deleted.

A marker left in a folder the registry does name (killed after the registry write, maybe before the code
was shown) removes that profile too while it holds no sealed file; otherwise only the marker goes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from .. import failpoints
from ..keys.errors import DamagedKeyEntry, KeyMissing, KeysError
from ..keys.keyring_store import decode_entry, entry_is_protected
from .errors import RegistryError, StorageError
from .layout import CREATING_MARKER, PROFILES_DIR, KeyChangeHost
from .locks import LockTimeout
from .profile_files import sealed_files_in
from .registry import Profile, RegistryData, is_profile_id, placeholder_name
from .sealed import key_id_of

log = logging.getLogger(__name__)


@dataclass
class TidyReport:
    rebuilt: list[Profile] = field(default_factory=list)  # registry entries made from folders
    removed: list[str] = field(default_factory=list)  # ids of interrupted creations cleaned away
    kept_back: list[str] = field(default_factory=list)  # what could not be done now (and why)
    moved_registry: Path | None = None  # a damaged profiles.json moved aside by `rebuild`


def tidy_on_start(hh: KeyChangeHost) -> TidyReport:
    """Best effort at start: never blocks (skipped while another process changes keys), never raises."""
    try:
        with hh._key_change(timeout_s=0.0):
            return tidy(hh)
    except LockTimeout:  # another process is changing keys or writing: the next start tidies
        return TidyReport(kept_back=["the data folder was busy"])
    except (RegistryError, KeysError, StorageError, OSError) as exc:
        log.warning("start-up tidy of the data folder skipped: %s", exc)
        return TidyReport(kept_back=[str(exc)])


def rebuild(hh: KeyChangeHost) -> TidyReport:
    """`prop-desktop profile rebuild`: a damaged profiles.json is moved aside, then every folder is taken in."""
    with hh._key_change():
        moved = None
        try:
            hh.registry.read()
        except RegistryError:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            moved = hh.registry.path.with_name(f"{hh.registry.path.name}.damaged-{stamp}")
            os.replace(hh.registry.path, moved)
        report = tidy(hh)
        report.moved_registry = moved
        return report


def tidy(hh: KeyChangeHost) -> TidyReport:
    """The work itself; the caller holds the key-change lock (no live `create` can be mistaken for a dead one)."""
    report = TidyReport()
    folders = hh.root / PROFILES_DIR
    if not folders.is_dir():
        return report
    known = hh.registry.read().profiles
    for folder in sorted(folders.iterdir()):
        if not (folder.is_dir() and not folder.is_symlink() and is_profile_id(folder.name)):
            continue
        marker = folder / CREATING_MARKER
        if folder.name in known:
            if marker.exists() and not sealed_files_in(folder, folder.name):
                _remove_interrupted_creation(hh, folder, report)  # its code may never have been shown
            elif marker.exists():
                marker.unlink()
            continue
        if marker.exists():
            _remove_interrupted_creation(hh, folder, report)
        else:
            _rebuild_entry(hh, folder, report)
    return report


def _remove_interrupted_creation(hh: KeyChangeHost, folder: Path, report: TidyReport) -> None:
    try:
        hh.keystore.delete(folder.name)
    except KeysError as exc:  # keyring unusable now: leave everything for a later start
        report.kept_back.append(f"interrupted creation {folder.name}: {exc}")
        return
    failpoints.reached("remove")
    shutil.rmtree(folder, ignore_errors=True)
    with hh.registry.edit() as data:
        data.profiles.pop(folder.name, None)
        if data.active == folder.name:
            data.active = None
    report.removed.append(folder.name)


def _rebuild_entry(hh: KeyChangeHost, folder: Path, report: TidyReport) -> None:
    profile_id = folder.name
    header_ids = Counter(kid for kid in (key_id_of(path) for path, _ in sealed_files_in(folder, profile_id))
                         if kid)
    protected, key_id = False, ""
    try:
        text = hh.keystore.load_text(profile_id)
        protected = entry_is_protected(text)
        if not protected:
            key_id = decode_entry(text, profile_id, None).current.key_id
    except (KeyMissing, DamagedKeyEntry):
        pass
    except KeysError as exc:
        report.kept_back.append(f"profile folder {profile_id}: {exc}")
        return
    if not key_id and header_ids:
        key_id = header_ids.most_common(1)[0][0]
    created = datetime.fromtimestamp(folder.stat().st_mtime, UTC).isoformat(timespec="microseconds")
    # An entry without a passphrase was readable by anyone at this computer: it is shared, whatever was chosen.
    profile = Profile(profile_id, placeholder_name(profile_id), created, protected, key_id, shared=not protected)
    with hh.registry.edit() as data:
        _put_unique(data, profile)
    report.rebuilt.append(profile)


def _put_unique(data: RegistryData, profile: Profile) -> None:
    name = profile.name
    for n in range(2, 100):
        if data.name_is_free(name):
            break
        name = f"{profile.name} ({n})"
    with contextlib.suppress(KeyError):
        data.profiles.pop(profile.id)
    data.put(replace(profile, name=name, rotation=None, manifest_counter=0))
