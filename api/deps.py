"""Dependencies: the process's one Checker, built in the lifespan hook."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rules.checker import Checker


def get_checker(request: Request) -> Checker:
    checker: Checker = request.app.state.checker
    return checker


CheckerDep = Annotated[Checker, Depends(get_checker)]
