"""WorkDirChanges: what a run of production builds wrote into the working directory.

A variant that drops ``DATABASE_URL`` or a storage path boots the app on its default, often a
path relative to where it runs (``sqlite:///./app.db``, ``./storage``): the audit's builds then
create, or change, files in the folder the tests run from, a committed database among them.
The audit cannot move the app elsewhere (its templates and static files are found from the
working directory too); it says what changed, so that nothing goes unnoticed.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["WorkDirChanges", "watched_folders"]

_Entry = tuple[bool, int, int]  # (a folder, modified at, size)


def watched_folders(app_folder: Path | None, package: str | None = None) -> list[Path]:
    """The working directory, and the folders an app writes beside its own code (a path made
    from ``__file__``, ``BASE_DIR / ".local"``): the folder its package sits in and the
    package's own, when they are elsewhere."""
    folders = [Path.cwd()]
    if app_folder is not None:
        folders.append(app_folder)
        if package and (app_folder / package).is_dir():
            folders.append(app_folder / package)
    unique: list[Path] = []
    for folder in folders:
        if all(folder.resolve() != seen.resolve() for seen in unique):
            unique.append(folder)
    return unique


class WorkDirChanges:
    """The top-level entries of ``folder`` (default: the working directory) when made; then
    :meth:`changed` lists those created or modified since."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None else Path.cwd()
        self._before = self._entries()

    def changed(self) -> list[str]:
        """``"app.db (new)"``, ``"storage/ (new)"``, ``"app.db (changed)"``, sorted by name; a
        folder other than the working directory's entries are shown with their path."""
        found = []
        here = Path.cwd().resolve()
        where = "" if self.folder.resolve() == here else _shown(self.folder, here)
        for name, entry in sorted(self._entries().items()):
            shown = where + name + ("/" if entry[0] else "")
            before = self._before.get(name)
            if before is None:
                found.append(f"{shown} (new)")
            elif before != entry and not entry[0]:  # a folder's time moves with its files
                found.append(f"{shown} (changed)")
        return found

    def _entries(self) -> dict[str, _Entry]:
        entries: dict[str, _Entry] = {}
        try:
            with os.scandir(self.folder) as scan:
                for item in scan:
                    if item.name == "__pycache__":  # Python's own bytecode, not the app's
                        continue
                    try:
                        stat = item.stat(follow_symlinks=False)
                        entries[item.name] = (item.is_dir(), stat.st_mtime_ns, stat.st_size)
                    except OSError:  # gone meanwhile
                        continue
        except OSError:  # the folder itself is gone: nothing to compare
            return {}
        return entries


def _shown(folder: Path, here: Path) -> str:
    resolved = folder.resolve()
    try:
        return f"{resolved.relative_to(here)}/"
    except ValueError:
        return f"{resolved}/"
