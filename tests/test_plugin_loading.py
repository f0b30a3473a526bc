"""The plugin loads once with ``-p pytest_hardening`` and is disabled by ``-p no:...``."""

from __future__ import annotations

import pytest

PROBE = """
def test_probe(request):
    pm = request.config.pluginmanager
    mods = [getattr(p, "__name__", None) for _, p in pm.list_name_plugin()]
    hits = [m for m in mods if m and m.startswith("pytest_hardening")]
    print("HARDENING", len(hits), sorted(hits))
    print("MARKERS", any(l.startswith("chaos:") for l in request.config.getini("markers")))
"""


@pytest.mark.parametrize("autoload", [True, False])
def test_dash_p_loads_plugin_exactly_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, autoload: bool
) -> None:
    # pytest-asyncio (autoloaded) warns when its loop scope is unset
    scope = ("-o", "asyncio_default_fixture_loop_scope=function") if autoload else ()
    if not autoload:
        monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(PROBE)
    result = pytester.runpytest("-s", "-p", "pytest_hardening", *scope)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*HARDENING 1 *", "MARKERS True"])


def test_dash_p_no_disables_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(PROBE)
    result = pytester.runpytest(
        "-s", "-p", "no:pytest_hardening", "-o", "asyncio_default_fixture_loop_scope=function"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*HARDENING 0 *", "MARKERS False"])
