"""What a development import of an app's package records, and what a build imported aside
says: the environment the import read (marked on the module it imported), which later builds
it serves, and the :class:`StaleImportWarning` of a build that got its own copy."""

from __future__ import annotations

import dataclasses
import os
import sys
import warnings
from collections.abc import Iterable, Mapping

__all__ = [
    "MARK",
    "PYTESTS",
    "AppImportFailed",
    "Imported",
    "StaleImportWarning",
    "environment",
    "held",
    "held_mark",
    "named",
    "roots",
    "tell_aside",
    "tell_sentry_late",
    "under",
]


#: pytest's own variables: they change per test (PYTEST_CURRENT_TEST), and an import that
#: reads one (``"PYTEST_CURRENT_TEST" in os.environ``) can only tell that tests run.
PYTESTS = "PYTEST_"


def environment() -> frozenset[tuple[str, str]]:
    return frozenset((k, v) for k, v in os.environ.items() if not k.startswith(PYTESTS))


def held(roots: set[str]) -> list[str]:
    return sorted(name for name in sys.modules if under(name, roots))


def held_mark(held: list[str]) -> Imported | None:
    """What another factory's development import of these held modules read, if one of
    them imported them."""
    for name in held:
        mark = getattr(sys.modules.get(name), MARK, None)
        if isinstance(mark, Imported):
            return mark
    return None


def named(held: list[str]) -> str:
    """The modules someone imported, without the packages their import brought along."""
    leaves = [n for n in held if not any(m.startswith(f"{n}.") for m in held)]
    return ", ".join(leaves[:3]) + (f" (and {len(leaves) - 3} more)" if len(leaves) > 3 else "")


def roots(module: str, packages: Iterable[str]) -> set[str]:
    return {module.partition(".")[0], *(p.partition(".")[0] for p in packages)}


def under(name: str, roots: set[str]) -> bool:
    return name.partition(".")[0] in roots


class StaleImportWarning(UserWarning):
    """A development build got a copy of the app's package imported aside, because another
    copy was imported first (before the first development build, or under another
    environment): references taken through ``import`` are not this app's."""


#: Set on the module the first development build imported: an :class:`Imported`.
MARK = "__pytest_hardening_import_environment__"


@dataclasses.dataclass(frozen=True)
class Imported:
    """What the development import read of the environment, which tells the later builds it
    serves: those whose environment gives what it read the same values. ``read``: each
    variable read, with its value then (None: unset); ``whole``: the whole environment was
    read (pydantic-settings iterates it), so every variable counts, but one the import set
    itself (Django's ``TZ``, a dotenv file's default) serves with either value: importing
    again would set it again."""

    read: Mapping[str, str | None]
    whole: bool
    before: Mapping[str, str]
    after: Mapping[str, str]

    def differing(self, environment: Mapping[str, str]) -> list[str]:
        """The variables whose value in ``environment`` would make another app (names only)."""
        if not self.whole:
            return sorted(
                n
                for n, v in self.read.items()
                if environment.get(n) != v and not n.startswith(PYTESTS)
            )
        names = environment.keys() | self.before.keys() | self.after.keys()
        return sorted(
            n for n in names if environment.get(n) not in (self.before.get(n), self.after.get(n))
        )


def tell_aside(module: str, read: list[str], *, first: bool = False) -> None:
    """A development build whose package someone else imported (under another
    environment, or one nobody recorded: a test module's top) gets a copy imported aside,
    and the holders keep theirs: re-imported in place, their references would go stale
    (a patch by name would miss the code they call, and its request go out). Module state
    the tests reach through ``import`` (caches they reset, module-level breakers) is then
    not this app's. Said once per environment, naming the variables (never a value)."""
    what = ", ".join(read) if read else "the whole environment"
    if first:
        how = (
            "was imported before the first development build (at a conftest's or a test "
            "module's top, or in a fixture that ran before the app was built, a session "
            f"one say), and the package's import reads {what}, set otherwise for this "
            "build than when the factory was made"
        )
        remedy = (
            "import it inside tests, and inside fixtures that run after the app's build "
            "(ones that ask for hardened_app or hardened_client), so that this factory's "
            "build is its first import; or do such set-up in a subprocess"
        )
    else:
        how = f"was first imported under another environment (differing in {what})"
        remedy = (
            "give both builds the same values for those (a chaos HarnessSession's env, a "
            "test's own hardening_dev_env)"
        )
    warnings.warn(
        f"app_from_import: {module} {how}; what holds it keeps it, and this build got its "
        f"own copy, imported aside. `import {module}` (and what a reset fixture, a "
        "hardening_breakers or a patch by name reaches through it) is the other copy, not "
        f"this app's. To share one copy, {remedy}; or reach the app's state through the app.",
        StaleImportWarning,
        stacklevel=5 if first else 4,
    )


def tell_sentry_late(target: str, held: str) -> None:
    """A factory of the tests' own that initialises Sentry, around an app another factory
    built first: its framework integration hooks what is built after ``init`` (FastAPI's
    route handlers), so this app's requests lack what the integration adds to their events."""
    warnings.warn(
        StaleImportWarning(
            f"app_from_import({target!r}) initialised Sentry at its import, but {held} was "
            "imported and its app built before, by another factory of this session (the app's "
            "own app_from_import, in an earlier test): Sentry's framework integration hooks "
            "what is built after sentry_sdk.init (FastAPI's route handlers), so events of this "
            "app's requests may lack their request data, and what leaks through it goes "
            "unseen by assert_no_secrets. Give this factory to every test of the app "
            "(hardening_app_factory in the root conftest), so that Sentry starts first"
        ),
        stacklevel=4,
    )


class AppImportFailed(RuntimeError):
    """The app's import failed in an earlier build under the same environment."""
