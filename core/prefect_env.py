"""Prefect defaults that make a fresh machine work; any value set by the user wins.

Imported before ``prefect`` itself, because Prefect reads its settings at import.
"""

import os

_DEFAULTS = {
    # A fresh PREFECT_HOME needs 24-40 s to migrate the temporary server's database;
    # Prefect's default wait is shorter, so the very first run would fail.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
}

for _name, _value in _DEFAULTS.items():
    os.environ.setdefault(_name, _value)
