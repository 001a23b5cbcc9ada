"""Per-image dataset work in worker processes, with results in job order (output independent of workers)."""
from __future__ import annotations

from contextlib import contextmanager
from multiprocessing import get_context
from typing import Any, Callable, Iterator

JobMap = Callable[[Callable[[Any], Any], list], Iterator[Any]]
"""(module-level job function, jobs) -> the results, in job order."""


@contextmanager
def job_map(workers: int, chunksize: int = 8) -> Iterator[JobMap]:
    """A JobMap running in ``workers`` spawned processes, one pool shared by every call inside the
    block (a spawned worker spends a second or two importing before its first job); with
    ``workers`` <= 1, in this process."""
    if workers <= 1:
        yield lambda fn, jobs: map(fn, jobs)
        return
    with get_context("spawn").Pool(workers) as pool:
        yield lambda fn, jobs: pool.imap(fn, jobs, chunksize=chunksize) if len(jobs) > 1 else map(fn, jobs)
