"""What ``errorbudget serve`` and ``errorbudget exporter`` share to run uvicorn: a server
that leaves the signals to its caller, and the handlers that stop it gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Generator

import uvicorn


class SignalFreeServer(uvicorn.Server):
    """uvicorn, minus its signal capture: it re-raises SIGTERM once it has stopped, which
    would end the process before the caller's jobs (collectors, feeds) finish and close
    their clients; the caller installs :func:`stop_on_signals` instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def stop_on_signals(server: uvicorn.Server) -> None:
    """SIGINT and SIGTERM stop ``server`` gracefully (requests in flight finish). Only the
    main thread may own signals; elsewhere (tests) ``server.should_exit`` stops it."""
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(RuntimeError, NotImplementedError, ValueError):
            loop.add_signal_handler(number, server.handle_exit, number, None)
