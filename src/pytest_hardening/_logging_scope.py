"""logging_left_as_found: a production build leaves the process's logging as it found it.

Logging is one configuration for the whole process. A production build imports the app afresh
and boots it, so the app's import-time and startup logging set-up runs again each time: a
handler added to the root logger (``logging.basicConfig``, a ``RotatingFileHandler`` on the
production log directory) stayed behind after every check, and an audit of eight builds left
the tests' own log lines printed nine times, through files kept open; a ``dictConfig`` also
disables every logger it does not name. Inside the block, the app configures logging as it
does in production; after it, every logger has the handlers, level, propagation and enabled
state it had before, and the handlers the build added, no longer used, are closed (pytest's
own capture handlers, which it changes at each phase of a test, are left as pytest has them).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

__all__ = ["logging_left_as_found"]

_State = tuple[list[logging.Handler], int, bool, bool]


def _pytests(handler: logging.Handler) -> bool:
    """pytest's own capture handlers, which it adds and removes at each phase of a test (a
    block may span phases: a production test's, from its set-up to its teardown)."""
    return type(handler).__module__.startswith("_pytest.")


def _loggers() -> dict[str, logging.Logger]:
    found = {"": logging.getLogger()}
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):  # not a PlaceHolder
            found[name] = logger
    return found


def _state(logger: logging.Logger) -> _State:
    return list(logger.handlers), logger.level, logger.propagate, logger.disabled


@contextlib.contextmanager
def logging_left_as_found() -> Iterator[None]:
    """Every logger as it was before the block, and the handlers added inside closed."""
    before = {name: _state(logger) for name, logger in _loggers().items()}
    try:
        yield
    finally:
        added: dict[int, logging.Handler] = {}
        new: _State = ([], logging.NOTSET, True, False)  # a logger made inside: as made
        for name, logger in _loggers().items():
            handlers, level, propagate, disabled = before.get(name, new)
            for handler in logger.handlers:
                if all(handler is not kept for kept in handlers) and not _pytests(handler):
                    added[id(handler)] = handler
            # pytest's are as pytest has them now; the others as they were, in their order.
            now = list(logger.handlers)
            kept = [h for h in handlers if not _pytests(h) or any(h is n for n in now)]
            logger.handlers[:] = kept + [
                h for h in now if _pytests(h) and all(h is not k for k in kept)
            ]
            logger.setLevel(level)  # also clears the loggers' level cache
            logger.propagate, logger.disabled = propagate, disabled
        still = {id(h) for state in before.values() for h in state[0]}
        for key, handler in added.items():
            if key not in still:
                with contextlib.suppress(Exception):  # a handler's own failure to close
                    handler.close()
