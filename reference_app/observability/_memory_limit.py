"""The memory limit this process lives under: its cgroup's (v2, then v1), else the machine's.

A container is killed at its cgroup limit long before the host's memory is full, so "memory is
high" must be judged against that limit. Unlimited cgroups (v2 ``max``, v1's huge sentinel) and a
limit above the machine's memory count as no limit.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import psutil

__all__ = ["MemoryLimit", "memory_limit"]

#: v1 reports "no limit" as a page-rounded 2**63 - 1; anything this large is no limit.
_UNLIMITED = 1 << 60


@dataclass(frozen=True, slots=True)
class MemoryLimit:
    """``bytes`` the process may use; ``source``: ``"cgroup v2"``, ``"cgroup v1"`` or
    ``"system"`` (no cgroup limit: the machine's total memory)."""

    bytes: int
    source: str


def _read_limit(path: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        value = path.read_text(encoding="ascii").strip()
        if value and value != "max":
            limit = int(value)
            return limit if 0 < limit < _UNLIMITED else None
    return None


def _cgroup_paths(proc_cgroup: Path) -> tuple[str | None, str | None]:
    """This process's (v2, v1 memory) cgroup paths from ``/proc/self/cgroup``."""
    v2 = v1 = None
    with contextlib.suppress(OSError):
        for line in proc_cgroup.read_text(encoding="ascii").splitlines():
            hierarchy, _, rest = line.partition(":")
            controllers, _, path = rest.partition(":")
            if hierarchy == "0" and not controllers:
                v2 = path
            elif "memory" in controllers.split(","):
                v1 = path
    return v2, v1


def memory_limit(
    cgroup_root: Path = Path("/sys/fs/cgroup"), proc_cgroup: Path = Path("/proc/self/cgroup")
) -> MemoryLimit:
    """The tightest limit found: the process's cgroup v2 ``memory.max`` (also under the hybrid
    layout's ``unified/``), else its v1 ``memory.limit_in_bytes``, capped by total memory."""
    total = psutil.virtual_memory().total
    v2, v1 = _cgroup_paths(proc_cgroup)
    candidates: list[tuple[Path, str]] = []
    for base in (cgroup_root, cgroup_root / "unified"):
        if v2 is not None:
            candidates.append((base / v2.lstrip("/") / "memory.max", "cgroup v2"))
        candidates.append((base / "memory.max", "cgroup v2"))  # a namespaced container's own
    if v1 is not None:
        candidates.append(
            (cgroup_root / "memory" / v1.lstrip("/") / "memory.limit_in_bytes", "cgroup v1")
        )
    candidates.append((cgroup_root / "memory" / "memory.limit_in_bytes", "cgroup v1"))
    for path, source in candidates:
        limit = _read_limit(path)
        if limit is not None and limit < total:
            return MemoryLimit(limit, source)
    return MemoryLimit(total, "system")
