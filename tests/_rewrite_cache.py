"""The suite's xdist controller rewrites the test modules' asserts once, before its workers start.

Each xdist worker collects the whole suite, and in a fresh clone, with no cache yet, each one
rewrote every test module itself, at the same time as the others: about 1.6 s of CPU per worker
on a 2-core runner, 10 s of the run's CPU with its other pytest processes. Written here first,
the cache is there when the workers look (pytest checks each cached module's source hash, so
a cache from another version of a file is never used).

This reads pytest's private assertion-rewriting helpers: if they are not as expected (another
pytest), it does nothing, and each worker rewrites its modules as before.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


@pytest.hookimpl(tryfirst=True)  # before xdist's own sessionstart, which starts the workers
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    if sys.dont_write_bytecode:
        return
    try:
        from _pytest.assertion import rewrite
    except ImportError:
        return
    state = config.stash.get(rewrite.assertstate_key, None)
    needed = ("_rewrite_test", "_read_pyc", "_write_pyc", "get_cache_dir", "PYC_TAIL")
    if state is None or not all(hasattr(rewrite, name) for name in needed):
        return
    for path in _test_modules(config):
        try:
            cache_dir = rewrite.get_cache_dir(path)
            pyc = cache_dir / (path.name[:-3] + rewrite.PYC_TAIL)
            if rewrite._read_pyc(path, pyc, state.trace) is not None:
                continue
            source_hash, code = rewrite._rewrite_test(path, config)
            cache_dir.mkdir(exist_ok=True)
            rewrite._write_pyc(state, code, source_hash, pyc)
        except (OSError, SyntaxError, TypeError, ValueError):
            continue  # the worker that imports it says what is wrong


def _test_modules(config: pytest.Config) -> list[Path]:
    roots = [config.rootpath / name for name in config.getini("testpaths")]
    found: set[Path] = set()
    for root in roots:
        found.update(root.rglob("test_*.py"))
        found.update(root.rglob("conftest.py"))
    return sorted(found)
