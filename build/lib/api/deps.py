"""Dependencies: the process's one Checker, built in the lifespan hook."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from engine import EngineError
from rules.checker import Checker


async def get_checker(request: Request) -> Checker:
    """Async so FastAPI does not hop to the thread pool just to read an attribute: the pool
    has one thread per worker (the engine serialises checks), and every hop is a GIL
    hand-off on the request's critical path."""
    checker: Checker | None = getattr(request.app.state, "checker", None)
    if checker is None:  # the lifespan never ran or the engine was torn down: fail loudly
        raise EngineError("no engine in this worker")
    return checker


CheckerDep = Annotated[Checker, Depends(get_checker)]
