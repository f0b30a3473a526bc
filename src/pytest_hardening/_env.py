"""EnvPatch: set exactly these environment variables for a while, then restore."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, MutableMapping
from types import TracebackType

__all__ = ["EnvPatch"]


class EnvPatch:
    """Set ``values`` in the environment after removing every name in ``clear``.

    ``clear`` is typically the union of the development and production mappings, so a variable
    meant for one mode never leaks into a build of the other. Everything touched is restored on
    exit (a variable that did not exist is removed again). Re-entrant use is an error.
    """

    def __init__(
        self,
        values: Mapping[str, str],
        *,
        clear: Iterable[str] = (),
        environ: MutableMapping[str, str] | None = None,
    ) -> None:
        self._values = {str(k): str(v) for k, v in values.items()}
        self._clear = set(clear)
        self._environ: MutableMapping[str, str] = os.environ if environ is None else environ
        self._saved: dict[str, str | None] | None = None

    def start(self) -> EnvPatch:
        if self._saved is not None:
            raise RuntimeError("EnvPatch is already active")
        names = self._clear | set(self._values)
        self._saved = {name: self._environ.get(name) for name in names}
        for name in self._clear:
            self._environ.pop(name, None)
        self._environ.update(self._values)
        return self

    def stop(self) -> None:
        saved, self._saved = self._saved, None
        if saved is None:
            return
        for name, value in saved.items():
            if value is None:
                self._environ.pop(name, None)
            else:
                self._environ[name] = value

    def __enter__(self) -> EnvPatch:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
