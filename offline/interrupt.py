"""Ctrl-C: one line, exit 130, within two seconds, and never half a plan on disk.

Python turns SIGINT into KeyboardInterrupt, but the Pulumi SDK catches whatever the program's
body raises and first waits for every resource registration it started (``run_pulumi_func``),
so an interrupt there would let a large plan run on for a minute. The handler here raises the
interrupt as Python would (``finally`` blocks clean up) and gives the process a grace period;
past it, the process ends itself. Folder swaps (``offline/plan.py``) hold both back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from types import FrameType
from typing import Any

EXIT_INTERRUPTED = 130
"""As a shell reports a process ended by SIGINT (128 + 2)."""
LINE = "interrupted: stopped (no plan is left half written)\n"
GRACE = 1.0
"""Seconds between Ctrl-C and the end of the process, whatever the SDK is waiting for."""

_swapping = threading.Lock()
_reported = threading.Event()


def report() -> None:
    """Say the one line, once."""
    if not _reported.is_set():
        _reported.set()
        sys.stderr.write(LINE)
        sys.stderr.flush()


def abandoned() -> None:
    """The run was given up on purpose: the SDK's registrations it left unstarted are not news
    at exit ("coroutine ... was never awaited" after the one line)."""
    warnings.filterwarnings("ignore", r"coroutine .* was never awaited", RuntimeWarning)


def _end() -> None:
    with _swapping:  # a swap in progress finishes first
        report()
        os._exit(EXIT_INTERRUPTED)


_timers: list[threading.Timer] = []


_interrupted = threading.Event()


def interrupted() -> bool:
    """Whether Ctrl-C came while the command ran: whatever the run then raised (the SDK may
    surface another error, a module import cut short), the command was interrupted."""
    return _interrupted.is_set()


def _quiet(unraisable: Any) -> None:
    """After Ctrl-C, the interrupt raised where Python cannot pass it on (a weakref callback
    of the import system, a finaliser) is not news: the one line says it."""
    if not isinstance(unraisable.exc_value, KeyboardInterrupt):
        sys.__unraisablehook__(unraisable)


def _handler(signum: int, frame: FrameType | None) -> None:
    _interrupted.set()
    # Where the interrupt lands in code that cannot raise it (an importlib callback: "Exception
    # ignored in ...") or in a task asyncio is switching (its loop logs "Exception in callback
    # ... Leaving task"), Python and asyncio would print a traceback before the one line.
    sys.unraisablehook = _quiet
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    timer = threading.Timer(GRACE, _end)
    timer.daemon = True
    _timers.append(timer)
    timer.start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C changes nothing
    raise KeyboardInterrupt


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Ctrl-C handled as above while a command runs (main thread only, as Python's signals
    are); the previous handler back after, and no grace timer left behind (a process that
    calls the command line, the tests, goes on)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _handler)
    try:
        yield
    finally:
        for timer in _timers:
            timer.cancel()
        _timers.clear()
        _reported.clear()
        # Once interrupted, an interrupt still pending (one a worker thread took, not yet
        # run) must not reach the previous handler after the one line: the command is over.
        signal.signal(signal.SIGINT, signal.SIG_IGN if _interrupted.is_set() else previous)
        _interrupted.clear()


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Ctrl-C and SIGTERM held back while a folder changes, delivered right after; the grace
    timer waits for the swap too. Handlers, not a signal mask: the SDK's worker threads may
    receive the signal, and Python runs every handler in the main thread anyway."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []

    def later(signum: int, frame: FrameType | None) -> None:
        arrived.append(signum)

    with _swapping:
        previous = {s: signal.signal(s, later) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
    for signum in dict.fromkeys(arrived):
        signal.raise_signal(signum)  # now, to the handlers the swap held back
