"""Group commit: feedback that arrives together is written in one transaction, one fsync.

A durable commit costs a flush to disk (~0.4 ms here, more on a busy disk), and SQLite lets
one writer at a time in: committing each POST alone capped the embedded store near 400
items/s through the server. Requests waiting on the event loop are handed to one writer
thread per worker; it takes whatever has queued up (up to MAX_ITEMS items), writes each
request's items under its own savepoint (a conflict undoes that request only), commits
once, reads every item back, and answers each request. A lone request is written at once:
batching adds no waiting, it only shares the flush among those already waiting.
"""

from __future__ import annotations

import asyncio
import queue
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from api.queue_thread import QueueThread
from api.store import FeedbackRecord, Stored

MAX_ITEMS = 2000
Outcome = list[Stored] | BaseException
RunBatch = Callable[[list[Sequence[FeedbackRecord]]], list[Outcome]]
Waiter = asyncio.Future[list[Stored]]
_Pending = tuple[Sequence[FeedbackRecord], asyncio.AbstractEventLoop, Waiter]


class BatchedFeedback(ABC):
    """What both stores share: a request's feedback, alone (append_feedback) or in a group
    commit (submit_feedback), through the store's own `_append_batch`."""

    _group: GroupCommit

    @abstractmethod
    def _append_batch(self, batch: list[Sequence[FeedbackRecord]]) -> list[Outcome]:
        """Each request's records in one transaction, each under its own savepoint."""

    def append_feedback(self, records: Sequence[FeedbackRecord]) -> list[Stored]:
        outcome = self._append_batch([records])[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def submit_feedback(self, records: Sequence[FeedbackRecord]) -> list[Stored]:
        return await self._group.submit(records)


class GroupCommit(QueueThread[_Pending]):
    def __init__(self, run_batch: RunBatch, name: str) -> None:
        super().__init__(name)
        self._run_batch = run_batch

    async def submit(self, records: Sequence[FeedbackRecord]) -> list[Stored]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Stored]] = loop.create_future()
        self._ensure_thread()
        self._queue.put((records, loop, future))
        return await future

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            items = len(first[0])
            while items < MAX_ITEMS:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(more)
                items += len(more[0])
            try:
                outcomes = self._run_batch([records for records, _, _ in batch])
            except BaseException as exc:  # the whole transaction failed: each request hears
                outcomes = [exc] * len(batch)
            for (_, loop, future), outcome in zip(batch, outcomes, strict=True):
                loop.call_soon_threadsafe(_settle, future, outcome)


def _settle(future: asyncio.Future[list[Stored]], outcome: Outcome) -> None:
    if future.done():  # the client went away
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
