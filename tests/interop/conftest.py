"""A household on the REAL Secret Service (skips without one, fails in CI), with its profiles deleted after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from prop_desktop.storage import Household
from tests.secret_service import real_secret_service_backend

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def real_household() -> Iterator[Household]:
    """Household() exactly as the CLI builds it: the data folder of the test and the system keyring."""
    real_secret_service_backend()  # skip (or fail under CI) when the Secret Service is not there
    hh = Household()
    yield hh
    for profile in hh.list_profiles():  # leave no keys behind in the session's keyring
        hh.delete(profile)
