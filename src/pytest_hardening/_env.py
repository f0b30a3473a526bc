"""EnvPatch: set exactly these environment variables for a while, then restore."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, MutableMapping
from types import TracebackType

__all__ = ["EnvPatch"]

#: The one variable pytest sets anew in each phase of a test (and removes after it).
_PYTEST = "PYTEST_CURRENT_TEST"


class EnvPatch:
    """Set ``values`` in the environment after removing every name in ``clear``.

    ``clear`` is typically the union of the development and production mappings, so a variable
    meant for one mode never leaks into a build of the other. On exit the environment is as it
    was on entry, whoever changed it meanwhile (the app's startup, the test itself): a
    variable that did not exist is removed again, one changed or removed gets its value back.
    ``PYTEST_CURRENT_TEST``, which pytest sets anew in each phase, is left to it. Re-entrant use
    is an error.
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
        self._saved: dict[str, str] | None = None

    def start(self) -> EnvPatch:
        if self._saved is not None:
            raise RuntimeError("EnvPatch is already active")
        self._saved = {k: v for k, v in self._environ.items() if k != _PYTEST}
        for name in self._clear:
            self._environ.pop(name, None)
        self._environ.update(self._values)
        return self

    def stop(self) -> None:
        saved, self._saved = self._saved, None
        if saved is None:
            return
        for name in [k for k in self._environ if k not in saved and k != _PYTEST]:
            self._environ.pop(name, None)
        for name, value in saved.items():
            if self._environ.get(name) != value:
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
