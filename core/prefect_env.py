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


def without_heartbeats():
    """Prefect settings for a flow run that sends no heartbeats.

    Heartbeats tell a server that a run is alive, for automations that mark
    silent runs crashed. A server akhbar started for a command, or a serving
    process that watches its runs, has no use for them, and their thread costs
    each run up to a second at its end (it sleeps in one-second steps before it
    sees the run is over).
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
