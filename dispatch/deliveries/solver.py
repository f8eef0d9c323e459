"""Solves run in a pool of worker processes, never on the event loop.

OR-Tools holds a core for up to the time limit; in a worker process it neither blocks the
event loop nor competes for the interpreter lock. The workers are forked from a small server
process that imported the planner once (``forkserver``): no worker inherits the event loop,
the database pool or their threads, and starting one takes milliseconds.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Protocol

from dispatch.planning import Plan, SplitRequest, plan_split

_PRELOAD = ["dispatch.planning"]


class Solver(Protocol):
    """Anything that splits a request into a plan without blocking the caller's loop."""

    async def solve(self, request: SplitRequest, *, time_limit_s: float | None = None) -> Plan:
        """The plan for ``request``, found within the time limit."""
        ...


class SplitSolver:
    """A process pool that runs ``plan_split``; started on first use, closed by its owner.

    Starting it (the fork server's first boot imports OR-Tools) happens in a thread, so not
    even the first solve holds up the event loop.
    """

    def __init__(self, *, processes: int, time_limit_s: float, threads: int = 8) -> None:
        self.processes = processes
        self.time_limit_s = time_limit_s
        self.threads = threads
        self._pool: ProcessPoolExecutor | None = None
        self._starting = asyncio.Lock()

    def _start(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        pool = ProcessPoolExecutor(max_workers=self.processes, mp_context=context)
        # One task per worker, submitted together, brings every worker up now.
        for warming in [pool.submit(_ready) for _ in range(self.processes)]:
            warming.result()
        return pool

    async def _executor(self) -> ProcessPoolExecutor:
        async with self._starting:
            if self._pool is None:
                self._pool = await asyncio.to_thread(self._start)
            return self._pool

    async def solve(self, request: SplitRequest, *, time_limit_s: float | None = None) -> Plan:
        """The plan for ``request`` from a worker process; the limit is capped by the pool's."""
        limit = self.time_limit_s if time_limit_s is None else min(time_limit_s, self.time_limit_s)
        work = partial(plan_split, request, time_limit_s=limit, workers=self.threads)
        pool = await self._executor()
        return await asyncio.get_running_loop().run_in_executor(pool, work)

    def close(self) -> None:
        """Stop the worker processes (a solve under way finishes first)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _ready() -> int:
    """A worker's first task: nothing, so that it exists."""
    return os.getpid()
