"""The modules of an app's folder: what goes aside with the app when it is imported afresh."""

from __future__ import annotations

import functools
import importlib.util
import sys
import sysconfig
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["app_folder", "beside", "flat_siblings", "home", "own_packages"]


def home(module: str) -> Path | None:
    """The folder ``module``'s top-level package (or top-level module) sits in, unless that
    folder holds installed packages (site-packages)."""
    top = module.partition(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    origin = spec.origin if spec is not None else None
    if not origin or origin in ("built-in", "frozen"):
        return None
    path = Path(origin)
    folder = path.parent.parent if path.name == "__init__.py" else path.parent
    return None if folder.name in ("site-packages", "dist-packages") else folder


def app_folder(factory: Any, app: Any = None) -> Path | None:
    """The folder the app of ``factory`` sits in (its project, where its example env files
    are), whatever the working directory: of the packages an ``app_from_import`` factory
    names, else of the factory's own module, else (a conftest's factory) of the modules of
    ``app``'s routes."""
    packages = getattr(factory, "app_packages", None)
    names: list[Any] = sorted(packages) if packages else [getattr(factory, "__module__", None)]
    for route in getattr(app, "routes", None) or ():
        names.append(getattr(getattr(route, "endpoint", None), "__module__", None))
    for name in names:
        if not isinstance(name, str) or name.startswith(_NOT_THE_APP):
            continue
        leaf = name.rpartition(".")[2]
        if leaf == "conftest" or leaf.startswith("test_"):
            continue
        folder = home(name)
        if folder is not None:
            return folder
    return None


#: Modules of the frameworks and of this plugin: not where an app lives.
_NOT_THE_APP = ("pytest_hardening", "starlette", "fastapi", "_pytest", "pytest")


def beside(module: str) -> list[str]:
    """The top-level modules and packages in the folder of ``module``'s top-level package,
    unless that folder holds installed packages (site-packages)."""
    folder = home(module)
    if folder is None:
        return []
    names = []
    for entry in sorted(folder.iterdir()):
        if entry.suffix == ".py" and entry.stem.isidentifier():
            names.append(entry.stem)
        elif entry.is_dir() and entry.name.isidentifier() and _package(entry):
            names.append(entry.name)
    return [name for name in names if name != "pytest_hardening"]


def _package(folder: Path, depth: int = 3) -> bool:
    """A package, with an ``__init__.py`` or without (a namespace package: ``core/config.py``
    beside ``main.py``, imported as ``core.config`` all the same), also when its modules are
    only in folders below it (``api/routers/chat.py``, no file in ``api/`` itself), down to
    ``depth`` folders."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return False
    if any(entry.suffix == ".py" for entry in entries):
        return True
    return depth > 1 and any(
        entry.is_dir() and entry.name.isidentifier() and _package(entry, depth - 1)
        for entry in entries
    )


def flat_siblings(module: str) -> list[str]:
    """The modules beside ``module`` when it is a top-level module (not a package) outside
    the installed packages, the tests' own left out; else none."""
    if "." in module:
        return []
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.origin or spec.submodule_search_locations is not None:
        return []  # a package: its own modules go aside with it already
    return [
        name
        for name in beside(module)
        if name != module
        and name != "conftest"
        and not name.startswith(("test_", "tests"))
        and not name.endswith("_test")
    ]


def own_packages(modules: Mapping[str, ModuleType], names: Iterable[str] | None = None) -> set[str]:
    """The top-level packages and modules of ``modules`` (of ``names`` only, if given) that are
    the project's own: their files outside the installed packages and the standard library,
    not the tests' own (``tests``, ``test_*``, ``conftest``), nor pytest's or this plugin's.
    What a server process imports afresh beside the app's package (a settings package beside
    it, a monorepo's ``common``), as a production build does."""
    tops = {name.partition(".")[0] for name in (modules if names is None else names)}
    found = set()
    for top in tops:
        module = modules.get(top)
        if module is not None and _own(top, tuple(_places(module))):
            found.add(top)
    return found


def _places(module: ModuleType) -> list[str]:
    file = getattr(module, "__file__", None)
    if isinstance(file, str):
        return [file]
    path = getattr(module, "__path__", None)  # a namespace package: its folders
    try:
        return [p for p in path or () if isinstance(p, str)]
    except TypeError:  # a __path__ that is no iterable of folders
        return []


#: Not the app's, wherever they sit: the tests' own, and the test runner's.
_NOT_OWN = ("__main__", "conftest", "pytest", "_pytest", "pluggy", "pytest_hardening")


@functools.lru_cache(maxsize=4096)
def _own(top: str, places: tuple[str, ...]) -> bool:
    if not places or top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return False
    if top in _NOT_OWN or top.startswith(("test_", "tests")) or top.endswith("_test"):
        return False
    return not any(_installed(Path(place)) for place in places)


def _installed(path: Path) -> bool:
    """Whether ``path`` is in the installed packages or the standard library."""
    if {"site-packages", "dist-packages"} & set(path.parts):
        return True
    return any(path.is_relative_to(folder) for folder in _library_folders())


@functools.lru_cache(maxsize=1)
def _library_folders() -> tuple[Path, ...]:
    paths = sysconfig.get_paths()
    return tuple(Path(paths[key]) for key in ("stdlib", "platstdlib", "purelib", "platlib"))
