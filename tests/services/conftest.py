"""Fixtures for the services tests: an App on a private data folder with the keys layer's in-memory keyring."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "keys"))

from prop_desktop.services import App  # noqa: E402
from prop_desktop.services.profile_service import ProfileService  # noqa: E402
from tests.keys.keyring_fakes import MemoryKeyring  # noqa: E402

from .svc_helpers import base_policy_dir  # noqa: E402


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def profiles(tmp_path: Path, memory_keyring: MemoryKeyring) -> Iterator[ProfileService]:
    yield ProfileService(tmp_path / "data", keyring_backend=memory_keyring)


@pytest.fixture
def app(tmp_path: Path, memory_keyring: MemoryKeyring) -> Iterator[App]:
    """An App on a private data folder with the in-memory keyring; the simulated arm is NOT connected yet."""
    application = App(data_dir=tmp_path / "app", keyring_backend=memory_keyring, policy_dir=base_policy_dir())
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def sim_app(app: App) -> App:
    """The App with the simulated arm connected and one profile ("Ana") active."""
    app.arm.connect("sim")
    app.profiles.create("Ana", shared=True)
    return app


@pytest.fixture
def require_base_policy() -> None:
    """Skip (fail in CI) when no base policy is available: the training/driving journeys need it."""
    from prop_desktop.policy.base import BasePolicyError, base_policy_hash

    try:
        base_policy_hash(base_policy_dir())
    except BasePolicyError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the base policy is missing: {exc}")
        pytest.skip(f"no base policy yet: {exc}")

