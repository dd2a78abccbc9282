"""Ending a process that has used the Temporal client.

The SDK's native (Rust) threads can still be running while CPython finalises, which now and then
aborts the process (SIGABRT, "PyGILState_Release") after all work is done. Our entry points have
finished and flushed by then, so they leave with os._exit and keep the exit code they meant.
"""

from __future__ import annotations

import logging
import os
import sys


def exit_now(code: int | str | None) -> None:
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)
