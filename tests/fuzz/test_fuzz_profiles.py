"""The fuzz profiles: CI runs at least 200 examples per test, local runs fewer, and loading them
changes nothing for the rest of the suite."""

from __future__ import annotations

import pytest
from hypothesis import settings

from ._profiles import CI_EXAMPLES, LOCAL_EXAMPLES, fuzz_settings


def test_ci_profile_runs_at_least_200_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FUZZ_EXAMPLES", raising=False)
    monkeypatch.setenv("CI", "true")
    chosen = fuzz_settings()
    assert chosen.max_examples == CI_EXAMPLES >= 200
    assert chosen.deadline is None


def test_local_profile_is_smaller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FUZZ_EXAMPLES", raising=False)
    monkeypatch.delenv("CI", raising=False)
    assert fuzz_settings().max_examples == LOCAL_EXAMPLES < CI_EXAMPLES


def test_fuzz_examples_overrides_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("FUZZ_EXAMPLES", "1000")
    assert fuzz_settings().max_examples == 1000


def test_profiles_are_not_loaded_globally() -> None:
    assert settings.get_profile("fuzz-ci").max_examples == CI_EXAMPLES
    assert settings.get_current_profile_name() not in ("fuzz-ci", "fuzz-local")
