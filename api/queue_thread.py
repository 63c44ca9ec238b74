"""A queue drained by one daemon thread, started on first use and stopped by a None.

The check log and the feedback group commit both hand work from the event loop to one writer
thread per worker; this is the lifecycle they share, each with its own `_loop`."""

from __future__ import annotations

import queue
import threading
from abc import ABC, abstractmethod
from typing import Generic, TypeVar

_T = TypeVar("_T")


class QueueThread(ABC, Generic[_T]):
    def __init__(self, name: str) -> None:
        self._name = name
        # SimpleQueue: a put is a C call without a lock of ours (~0.2 µs).
        self._queue: queue.SimpleQueue[_T | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    @abstractmethod
    def _loop(self) -> None:
        """Drain the queue until it yields None."""

    def close(self) -> None:
        """Let the thread finish what is queued, then stop it."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def _ensure_thread(self) -> None:
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
