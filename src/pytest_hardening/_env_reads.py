"""ImportTimeReads: whether an app's modules read the environment while they are imported.

``hardening check-config`` builds an app once per environment it checks (ninety times for an
audit), importing the app's package afresh each time, because settings read at import
(``settings = Settings()`` at a module's top) must be the checked environment's. An app whose
import reads no variable (its factory builds the settings) can keep one import for every
check: only its factory runs again. A read of ``os.environ`` (``os.getenv``,
``environ[...]``, ``.get``, ``in``, iteration, ``copy()``) of a variable the checks vary, or of
the whole environment, counts when the innermost module being executed is one of the app's
packages (a library's top level, run at its first import, runs once per process however the
app is imported); only an import that makes none lets the import be shared.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any

__all__ = ["ImportTimeReads"]


class ImportTimeReads:
    """While entered, notes (in :attr:`seen`) whether the environment was read by code running
    at the top level of a module in the packages ``roots``: one of ``keys`` (the variables the
    checks vary), or all of it at once. Patches ``os.environ``'s class for the block: for a
    one-shot command's own thread, not for tests running beside others."""

    def __init__(self, roots: Iterable[str], keys: Iterable[str]) -> None:
        self._roots = frozenset(roots)
        self._keys = frozenset(keys)
        self.seen = False
        self._saved: tuple[Callable[..., Any], Callable[..., Any]] | None = None

    def __enter__(self) -> ImportTimeReads:
        cls: Any = type(os.environ)
        getitem, iterate = cls.__getitem__, cls.__iter__
        self._saved = (getitem, iterate)
        watch = self

        def __getitem__(env: Any, key: str) -> Any:
            if key in watch._keys:  # a library's own switch (PYDANTIC_...) varies in no check
                watch._check()
            return getitem(env, key)

        def __iter__(env: Any) -> Iterator[str]:
            watch._check()  # every variable, the checked ones included
            return iterate(env)  # type: ignore[no-any-return]

        cls.__getitem__, cls.__iter__ = __getitem__, __iter__
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._saved is not None:
            cls: Any = type(os.environ)
            cls.__getitem__, cls.__iter__ = self._saved
            self._saved = None

    def _check(self) -> None:
        if self.seen:
            return
        # The innermost module being executed: the app's own (``settings = Settings()`` at
        # its top reads through pydantic's functions, never another module's top level). A
        # library's module read at its own first import runs once per process either way.
        frame = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_name == "<module>":
                name = str(frame.f_globals.get("__name__", ""))
                self.seen = name.partition(".")[0] in self._roots
                return
            frame = frame.f_back  # type: ignore[assignment]
