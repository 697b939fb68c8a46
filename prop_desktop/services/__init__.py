"""Application use-cases without Qt: connect, profiles, record, train, drive.

The UI constructs one `App` and talks only to its services; progress and live data come through
`Signal`s (plain callbacks, emitted from worker threads). See docs/services.md.
"""

from __future__ import annotations

from prop_desktop.services.app import App
from prop_desktop.services.errors import ServiceError
from prop_desktop.services.events import Signal

__all__ = ["App", "ServiceError", "Signal"]
