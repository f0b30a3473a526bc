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

__all__ = ["LastWords"]

#: Records kept: the reason is the last or nearly (a traceback's summary after it, say).
_KEPT = 3


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
