"""Named fault points for crash tests (RELIABILITY.md 9, after TigerBeetle's simulation testing).

`crash_point("ledger.spend.before_commit")` kills the process with SIGKILL when TPH_ENV=test and
TPH_CRASH_AT names that point; in any other build it does nothing.
"""

from __future__ import annotations

import logging
import os
import signal

from backend.settings import get_settings

log = logging.getLogger(__name__)


def crash_point(name: str) -> None:
    settings = get_settings()
    if settings.env != "test" or name not in settings.crash_at:
        return
    log.warning("fault point %s reached: killing the process", name)
    logging.shutdown()
    os.kill(os.getpid(), signal.SIGKILL)
