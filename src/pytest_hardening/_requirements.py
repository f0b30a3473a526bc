"""The installed versions of the packages the plugin declares, checked before it uses them.

pip installs a project's own pins after the plugin with only a warning ("pytest-hardening
requires anyio>=4.4, but you have anyio 3.7.1"); the plugin then failed deep inside a fixture
with an error about something else. Read from the installed distribution's metadata, so the
check and ``pyproject.toml`` cannot disagree; a plugin imported from a source tree (no
metadata) is not checked.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Collection, Iterable, Iterator
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from packaging.requirements import Requirement

DISTRIBUTION = "pytest-hardening"
# What the fixtures import; the ``hardening`` command needs every requirement.
FIXTURE_PACKAGES = frozenset({"anyio", "freezegun", "httpx", "pytest", "respx", "sentry-sdk"})


# SDKs whose releases before these pass httpx a ``proxies=`` that httpx 0.28 removed: their
# default client cannot be built beside the httpx the plugin needs (the SDKs' changelogs:
# "compat with new httpx 0.28.0 release", openai 1.55.3 and anthropic 0.40.0).
PROXIES_REMOVED_IN = "0.28"
PASSES_PROXIES = {"openai": "1.55.3", "anthropic": "0.40"}


class Unmet(NamedTuple):
    name: str
    needs: str  # the declared requirement without its marker, e.g. "anyio>=4.4"
    installed: str | None  # None: not installed

    def __str__(self) -> str:
        found = "not installed" if self.installed is None else self.installed
        return f"{self.name} {found} (it needs {self.needs})"


def unmet_requirements(only: Collection[str] | None = None) -> list[Unmet]:
    """The declared requirements (of ``only``'s packages, if given) that the installed packages
    do not meet; empty when all are met or the plugin has no installed metadata."""
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion

    try:
        declared = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    wanted = None if only is None else {canonicalize_name(name) for name in only}
    problems = []
    for requirement in _applying(declared):
        if wanted is not None and canonicalize_name(requirement.name) not in wanted:
            continue
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(Unmet(requirement.name, _needs(requirement), None))
            continue
        try:
            met = requirement.specifier.contains(installed, prereleases=True)
        except InvalidVersion:
            continue  # a version string packaging cannot read: nothing to say about it
        if not met:
            problems.append(Unmet(requirement.name, _needs(requirement), installed))
    return problems


def _applying(lines: Iterable[str]) -> Iterator[Requirement]:
    """The requirements ``lines`` declare that apply here: not an extra's, nor another
    Python's (a line packaging cannot read is skipped)."""
    from packaging.requirements import InvalidRequirement, Requirement

    for line in lines:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            yield requirement


def _needs(requirement: Requirement) -> str:
    return f"{requirement.name}{requirement.specifier}"


def requirements_message(problems: list[Unmet]) -> str:
    """What to tell a user whose installed packages do not meet the plugin's requirements."""
    installs = " ".join(f"'{unmet.needs}'" for unmet in problems)
    # The packages on the first line: pytest's short summary shows only that line of a failure.
    lines = [
        f"{DISTRIBUTION} cannot run with the packages installed here: "
        + ", ".join(str(unmet) for unmet in problems),
        "pip installs a project's own pins over the plugin's requirements with a warning only."
        f" Install the versions it needs: python -m pip install {installs}",
    ]
    if any(unmet.name == "pytest" for unmet in problems):
        lines.append(
            "upgrade the project's pytest plugins with pytest: pytest-asyncio 0.23 stops at "
            "pytest 8 (pytest 9 needs a 1.x release)"
        )
    if any(unmet.name == "anyio" for unmet in problems):
        holders = holding_back("anyio", "4.4")
        if holders:
            lines.append(
                f"anyio is held below what the plugin needs by {', '.join(holders)} (its "
                "requirement on anyio): upgrade or remove that first; docs/getting-started.md "
                "says which FastAPI and Starlette versions hold it there."
            )
        else:
            lines.append(
                "If pip refuses because your app pins anyio below 4, its framework holds it "
                "there: docs/getting-started.md says which FastAPI and Starlette versions do."
            )
    return "\n".join(lines)


def holding_back(name: str, version: str) -> list[str]:
    """The installed distributions whose requirement on ``name`` caps it below ``version`` (an
    old server reloader's ``anyio<4``, not always the framework): "watchgod 0.8.2"."""
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    least = Version(version)

    def caps(operator: str, bound: str) -> bool:
        """Whether one clause allows nothing from ``least`` on."""
        try:
            limit = Version(bound.removesuffix(".*"))
        except InvalidVersion:
            return False
        if operator == "~=" or (operator == "==" and bound.endswith(".*")):
            # ~=3.7 is <4, ~=4.2.1 is <4.3; ==3.* is <4: the release before the last bumped.
            release = limit.release[:-1] if operator == "~=" else limit.release
            upper = Version(".".join(map(str, (*release[:-1], release[-1] + 1))))
            return upper <= least
        if operator == "<":
            return limit <= least
        return operator in ("<=", "==", "===") and limit < least

    wanted = canonicalize_name(name)
    found = set()
    for dist in importlib.metadata.distributions():
        for requirement in _applying(dist.requires or ()):
            if canonicalize_name(requirement.name) != wanted:
                continue
            if any(caps(spec.operator, spec.version) for spec in requirement.specifier):
                found.add(f"{dist.metadata['Name']} {dist.version}")
    return sorted(found)


class OldSdk(NamedTuple):
    name: str
    installed: str
    fixed: str  # the first release that builds a client with the installed httpx
    httpx: str

    def __str__(self) -> str:
        return (
            f"{self.name} {self.installed} cannot build a client with httpx {self.httpx} "
            f"(it passes `proxies`, which httpx removed): upgrade to {self.name} >= {self.fixed}"
        )


def old_sdks() -> list[OldSdk]:
    """The installed SDKs known not to build a client with the installed httpx; read from
    the installed metadata (pip installs a project's pinned SDK beside the plugin's httpx
    without a word, and the app then fails at its first client with a bare TypeError)."""
    from packaging.version import InvalidVersion, Version

    def version(name: str) -> Version | None:
        try:
            return Version(importlib.metadata.version(name))
        except (importlib.metadata.PackageNotFoundError, InvalidVersion):
            return None  # not installed, or a version packaging cannot read: nothing to say

    httpx = version("httpx")
    if httpx is None or httpx < Version(PROXIES_REMOVED_IN):
        return []
    found = []
    for name, fixed in PASSES_PROXIES.items():
        installed = version(name)
        if installed is not None and installed < Version(fixed):
            found.append(OldSdk(name, str(installed), fixed, str(httpx)))
    return found


def old_sdks_message(old: list[OldSdk]) -> str:
    """What to tell a user whose installed SDKs cannot build a client beside the plugin's httpx."""
    installs = " ".join(f"'{sdk.name}>={sdk.fixed}'" for sdk in old)
    # The SDKs on the first line: pytest's short summary shows only that line of a failure.
    return "\n".join(
        [
            "; ".join(str(sdk) for sdk in old),
            f"{DISTRIBUTION} needs httpx>={PROXIES_REMOVED_IN}, and the app's SDK client fails "
            "with it (TypeError: ... unexpected keyword argument 'proxies') in its tests and "
            f"anywhere else in this environment. Install: python -m pip install {installs} (or "
            "uninstall an SDK the app does not use); tests that use no hardened fixture run as "
            "before. docs/getting-started.md lists the releases.",
        ]
    )
