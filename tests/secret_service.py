"""The real Secret Service for integration tests (scripts/run-tests.sh runs the suite inside dbus-run-session
with an unlocked gnome-keyring): skip without one on a developer machine, but FAIL in CI (CI=true), where
the test script always provides it, so a broken set-up can never hide behind skipped tests."""

from __future__ import annotations

import os

import pytest


def secret_service_problem() -> str | None:
    """Why the real Secret Service cannot be used here, or None when it can."""
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return "no D-Bus session (run under dbus-run-session -- bash scripts/with-keyring.sh)"
    try:
        from contextlib import closing

        import secretstorage

        with closing(secretstorage.dbus_init()) as bus:
            if not secretstorage.check_service_availability(bus):
                return "no Secret Service daemon on the D-Bus session"
            if secretstorage.get_default_collection(bus).is_locked():
                return "the Secret Service's default collection is locked"
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable here"
        return f"Secret Service not usable: {exc}"
    return None


def real_secret_service_backend():
    """keyring's SecretService backend, or skip (fail under CI=true) with the reason."""
    problem = secret_service_problem()
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the real Secret Service is missing: {problem}")
        pytest.skip(problem)
    from keyring.backends.SecretService import Keyring

    return Keyring()
