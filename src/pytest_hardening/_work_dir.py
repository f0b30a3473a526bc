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

__all__ = ["WorkDirChanges"]

_Entry = tuple[bool, int, int]  # (a folder, modified at, size)


class WorkDirChanges:
    """The top-level entries of ``folder`` (default: the working directory) when made; then
    :meth:`changed` lists those created or modified since."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None else Path.cwd()
        self._before = self._entries()

    def changed(self) -> list[str]:
        """``"app.db (new)"``, ``"storage/ (new)"``, ``"app.db (changed)"``, sorted by name."""
        found = []
        for name, entry in sorted(self._entries().items()):
            shown = name + ("/" if entry[0] else "")
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
                    try:
                        stat = item.stat(follow_symlinks=False)
                        entries[item.name] = (item.is_dir(), stat.st_mtime_ns, stat.st_size)
                    except OSError:  # gone meanwhile
                        continue
        except OSError:  # the folder itself is gone: nothing to compare
            return {}
        return entries
