"""LastWords: what an app logged just before it called ``sys.exit()``.

Apps that refuse a setting by exiting (``log.critical("JWT_SECRET_KEY is too short");
sys.exit(1)``) say which setting in their log, not in the exit: a check that reports the exit
names the variable only with those words.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from types import TracebackType

__all__ = ["LastWords", "exit_said"]

#: Records kept: the reason is the last or nearly (a traceback's summary after it, say).
_KEPT = 3


#: What a check asks of an app that refuses a setting by exiting.
_INSTEAD = "raise an error naming the setting instead, which a check (and a log) can read"


def exit_said(code: object, where: str, said: str, *, why: str = "") -> str:
    """What a check says of an app that called ``sys.exit(code)`` ``where`` (``while it was
    built``) after logging ``said``; ``why``, a note before the advice."""
    logged = f" (after logging: {said})" if said else ""
    shown = "" if code is None else repr(code)
    return f"the app called sys.exit({shown}) {where}{logged}: {why}{_INSTEAD}"


class LastWords(logging.Handler):
    """While entered, the last few warning-or-worse records any logger propagates to the
    root logger, formatted as their messages (:attr:`said`)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self._said: deque[str] = deque(maxlen=_KEPT)

    @property
    def said(self) -> str:
        return "; ".join(self._said)

    def emit(self, record: logging.LogRecord) -> None:
        # A record whose arguments do not format says nothing.
        with contextlib.suppress(Exception):
            self._said.append(record.getMessage())

    def __enter__(self) -> LastWords:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        logging.getLogger().removeHandler(self)
