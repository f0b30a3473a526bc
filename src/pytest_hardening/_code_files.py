"""Where code comes from: the file of the module a frame runs, and whether a file is the app's
own (neither an installed library's nor the standard library's)."""

from __future__ import annotations

import functools
import sys
import sysconfig
from typing import Any

__all__ = ["code_file", "installed", "own_file"]


def code_file(frame: Any) -> str:
    """The file of the module whose code ``frame`` runs. A library's generated functions
    (SQLAlchemy's decorators, compiled with ``exec``) run on globals without ``__file__``:
    their module, named in those globals, says where they come from."""
    namespace = frame.f_globals
    path = namespace.get("__file__")
    if path is None:
        path = getattr(sys.modules.get(str(namespace.get("__name__", ""))), "__file__", None)
    return str(path or "")


def installed(path: str) -> bool:
    """Whether ``path`` is an installed library's (``site-packages``, ``dist-packages``)."""
    return "-packages" in path


def own_file(path: str) -> bool:
    """Whether ``path`` is a file of the app's own code: neither installed nor the standard
    library's (a frozen or generated module without one is not)."""
    return bool(path) and not installed(path) and not path.startswith(_stdlib())


@functools.cache
def _stdlib() -> str:
    return sysconfig.get_paths()["stdlib"]
