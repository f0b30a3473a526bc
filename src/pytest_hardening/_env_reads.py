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

``app_from_import`` watches its development import the same way, for every variable: a later
build whose environment gives the variables that import read the same values gets the same
app, whatever else differs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any

from ._code_files import code_file, own_file

__all__ = ["EnvAccess", "ImportTimeReads", "replaced"]


class ImportTimeReads:
    """While entered, notes what code running at the top level of a module in the packages
    ``roots`` read of the environment: :attr:`read` maps each variable read (of ``keys``, or
    of any variable when ``keys`` is None) to the value it had at its first read (None:
    unset), :attr:`whole` says the whole environment was read at once (iterated, copied), and
    :attr:`seen` whether either happened. Patches ``os.environ``'s class for the block: reads
    by other threads go through unchanged (no module of theirs is being executed)."""

    def __init__(self, roots: Iterable[str], keys: Iterable[str] | None = None) -> None:
        self._roots = frozenset(roots)
        self._keys = None if keys is None else frozenset(keys)
        self.read: dict[str, str | None] = {}
        self.whole = False
        #: The modules that read each variable, and those that read the whole environment.
        self.readers: dict[str, set[str]] = {}
        self.whole_in: set[str] = set()
        self._saved: tuple[Callable[..., Any], Callable[..., Any]] | None = None

    @property
    def seen(self) -> bool:
        return self.whole or bool(self.read)

    def __enter__(self) -> ImportTimeReads:
        cls: Any = type(os.environ)
        getitem, iterate = cls.__getitem__, cls.__iter__
        self._saved = (getitem, iterate)
        watch = self

        def __getitem__(env: Any, key: str) -> Any:
            # A library's own switch (PYDANTIC_...) is not one of the keys a check varies.
            if watch._keys is None or key in watch._keys:
                module = watch._app_module()
                if module is not None:
                    if key not in watch.read:
                        watch.read[key] = _peek(env, key, getitem)
                    watch.readers.setdefault(key, set()).add(module)
            return getitem(env, key)

        def __iter__(env: Any) -> Iterator[str]:
            module = watch._app_module()
            if module is not None:
                watch.whole = True  # every variable, the checked ones included
                watch.whole_in.add(module)
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

    def _app_module(self) -> str | None:
        """The innermost module being executed, when it is the app's own (``settings =
        Settings()`` at its top reads through pydantic's functions, never another module's
        top level). A library's module read at its own first import runs once per process
        either way."""
        frame = sys._getframe(2)  # the caller of __getitem__ or __iter__
        while frame is not None:
            if frame.f_code.co_name == "<module>":
                name = str(frame.f_globals.get("__name__", ""))
                return name if name.partition(".")[0] in self._roots else None
            frame = frame.f_back  # type: ignore[assignment]
        return None


def _peek(env: Any, key: str, getitem: Callable[..., Any]) -> str | None:
    try:
        return str(getitem(env, key))
    except KeyError:
        return None


class EnvAccess:
    """While entered, notes what any code does with ``os.environ`` by name: :attr:`read`, the
    variables read (``os.environ[...]``, ``.get``, ``os.getenv``; not python-dotenv's look
    before it sets one, nor the plugin's own copies), and :attr:`written`, those set (a
    ``load_dotenv()`` filling what the environment lacks), each in the order first met. A read
    of the whole environment (pydantic-settings' iteration) names no variable and is not
    noted. :attr:`own` are those read by the app's own code (neither an installed library nor
    the standard library: an SDK's credential chain reads a key to learn it is unset)."""

    def __init__(self) -> None:
        self.read: list[str] = []
        self.own: list[str] = []
        self.written: list[str] = []
        #: What python-dotenv set (a ``load_dotenv()`` the app calls), the last value of each.
        self.loaded: dict[str, str] = {}
        self._saved: tuple[Callable[..., Any], Callable[..., Any]] | None = None

    def __enter__(self) -> EnvAccess:
        cls: Any = type(os.environ)
        getitem, setitem = cls.__getitem__, cls.__setitem__
        self._saved = (getitem, setitem)
        watch = self

        def __getitem__(env: Any, key: str) -> Any:
            if key not in watch.own:
                frame = _caller(sys._getframe(1))
                package = _package(frame)
                if package not in ("dotenv", "pytest_hardening"):
                    if key not in watch.read:
                        watch.read.append(key)
                    if _own_code(frame):
                        watch.own.append(key)
            return getitem(env, key)

        def __setitem__(env: Any, key: str, value: str) -> None:
            if key not in watch.written:
                watch.written.append(key)
            if _from_dotenv(sys._getframe(1)):
                watch.loaded[key] = value
            setitem(env, key, value)

        cls.__getitem__, cls.__setitem__ = __getitem__, __setitem__
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None:
            cls: Any = type(os.environ)
            cls.__getitem__, cls.__setitem__ = self._saved
            self._saved = None


def _from_dotenv(frame: Any) -> bool:
    """Whether python-dotenv itself sets this variable (a ``load_dotenv()``)."""
    return _caller_package(frame) == "dotenv"


def replaced(loaded: Mapping[str, str], env: Mapping[str, str | None]) -> list[str]:
    """The variables of ``env`` (``None``: dropped) whose value a ``load_dotenv`` of the app's
    replaced while it was built (``override=True``): the app never saw the values given."""
    return [name for name, value in env.items() if name in loaded and loaded[name] != value]


def _caller_package(frame: Any) -> str:
    """The top-level package of the code that touched ``os.environ``, past the pass-throughs
    (``os``, the mapping ABCs, this module); empty when none is found."""
    return _package(_caller(frame))


def _caller(frame: Any) -> Any:
    """The frame of the code that touched ``os.environ``, past the pass-throughs."""
    while frame is not None:
        name = str(frame.f_globals.get("__name__", ""))
        if name not in ("os", "_collections_abc", "collections.abc", __name__):
            return frame
        frame = frame.f_back
    return None


def _package(frame: Any) -> str:
    return "" if frame is None else str(frame.f_globals.get("__name__", "")).partition(".")[0]


def _own_code(frame: Any) -> bool:
    """Whether ``frame`` runs the app's code: a file outside the installed libraries and the
    standard library."""
    return frame is not None and own_file(code_file(frame))
