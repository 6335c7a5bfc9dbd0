"""The supervisors' background loops, as `serve` runs them (one line in app.py)."""

from __future__ import annotations

import threading

from caseboard.dashboard_counters import CounterFolder
from caseboard.satisfaction import SurveySender
from caseboard.services import Services
from caseboard.timelimit_monitor import TimeLimitMonitor
from caseboard.workers import Worker


def supervisor_workers(services: Services, poll: float, stop: threading.Event) -> list[Worker]:
    """Dashboard counters from the audit trail, the time-limit monitor, the survey sender."""
    config = services.config
    folder = CounterFolder(services.database, services.calendar,
                           config["time_limits.at_risk_fraction"])
    monitor = TimeLimitMonitor(services.database)
    surveys = SurveySender(services.database, config)
    return [Worker("dashboard-counters", folder.step, poll, stop),
            # Clocks move with time, not events: the at-risk and breach counters follow them
            # at the counters' pace, the alerts (which people read) a little more slowly.
            Worker("timelimit-counters", lambda: monitor.count_step(), poll, stop),
            Worker("timelimit-monitor", lambda: monitor.step(), max(poll, 15.0), stop),
            Worker("surveys", surveys.step, poll, stop)]
