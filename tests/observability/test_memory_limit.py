"""The process's memory limit: cgroup v2, else v1, else the machine's memory."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from reference_app.observability import MemoryLimit, memory_limit

GIB = 1 << 30
TOTAL = psutil.virtual_memory().total


def layout(root: Path, proc: str, files: dict[str, str]) -> tuple[Path, Path]:
    """A fake /sys/fs/cgroup under ``root`` and a fake /proc/self/cgroup."""
    for name, value in files.items():
        path = root / "cgroup" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n")
    (root / "proc_cgroup").write_text(proc)
    return root / "cgroup", root / "proc_cgroup"


@pytest.mark.parametrize(
    ("proc", "files", "expected"),
    [
        ("0::/app\n", {"app/memory.max": str(GIB)}, MemoryLimit(GIB, "cgroup v2")),
        ("0::/\n", {"memory.max": str(GIB)}, MemoryLimit(GIB, "cgroup v2")),
        ("0::/app\n", {"app/memory.max": "max"}, MemoryLimit(TOTAL, "system")),
        (
            "4:memory:/docker/abc\n0::/\n",
            {"memory/docker/abc/memory.limit_in_bytes": str(GIB // 2)},
            MemoryLimit(GIB // 2, "cgroup v1"),
        ),
        (  # v1's "no limit" sentinel
            "4:memory:/x\n",
            {"memory/x/memory.limit_in_bytes": "9223372036854771712"},
            MemoryLimit(TOTAL, "system"),
        ),
        ("0::/app\n", {"app/memory.max": str(TOTAL * 4)}, MemoryLimit(TOTAL, "system")),
        ("", {}, MemoryLimit(TOTAL, "system")),
    ],
    ids=["v2", "v2-namespaced", "v2-unlimited", "v1", "v1-unlimited", "above-machine", "none"],
)
def test_the_tightest_limit_is_found(
    tmp_path: Path, proc: str, files: dict[str, str], expected: MemoryLimit
) -> None:
    root, proc_cgroup = layout(tmp_path, proc, files)
    assert memory_limit(root, proc_cgroup) == expected


def test_this_machine_has_a_limit() -> None:
    limit = memory_limit()
    assert 0 < limit.bytes <= TOTAL
    assert limit.source in {"cgroup v2", "cgroup v1", "system"}
