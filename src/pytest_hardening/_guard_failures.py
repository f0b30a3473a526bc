"""A production build that failed after the check's network guard refused a connection, with an
error that did not come of that connection: a client library that caught the refusal and
raised its own (``google.auth.default()`` probes the cloud metadata server, swallows the
refusal, then raises ``DefaultCredentialsError``). No chain links the two, so the check cannot
tell such a failure from a refusal of the configuration: it judges neither, and says so first,
naming the connection and what to do.

A failure whose chain does come of the connection is a stop, not this (see :mod:`._stops`).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "GUARD_DOCS",
    "METADATA_HOSTS",
    "UNJUDGED_ADVICE",
    "could_not_judge",
    "refused_hosts",
    "what_to_do",
]

#: The cloud metadata servers SDKs ask for credentials and the project on a cloud machine
#: (GCE's, also AWS's and Azure's at the link-local address; AWS's IPv6 one).
METADATA_HOSTS = frozenset({"169.254.169.254", "metadata.google.internal", "fd00:ec2::254"})

#: Where the docs say what to do about it.
GUARD_DOCS = "docs/fixtures.md, 'Cloud SDK clients built at import'"

#: What the audit's report says once about its variants not judged.
UNJUDGED_ADVICE = (
    "a build that failed with an error of its own after the check refused a connection may be "
    "a client library's failure (a cloud SDK probing the metadata server for credentials), not "
    "the app's refusal: give the app what it finds in production without the network (an "
    "emulator's variables, named in PRODUCTION_OPTIONAL when production runs without them), or "
    f"make the client lazily ({GUARD_DOCS})"
)


def _target(line: str) -> str:
    """A refusal line's ``host:port`` (its first word)."""
    words = line.split()
    return words[0].rstrip(",") if words else ""


def _host(line: str) -> str:
    return _target(line).rpartition(":")[0].strip("[]").rstrip(".").lower()


def _described(line: str) -> str:
    """A refusal's line (``host:port``, how, the client) as a phrase: ``169.254.169.254:80
    (the cloud metadata server; from http.client)``."""
    line = line.strip()
    target = _target(line) or line
    rest = line[len(target) :]
    said = ["the cloud metadata server"] if _host(line) in METADATA_HOSTS else []
    if rest.startswith(" (name lookup)"):
        said.append("name lookup")
        rest = rest.removeprefix(" (name lookup)")
    if rest.startswith(", from "):
        said.append(rest.removeprefix(", "))
        rest = ""
    return f"{target} ({'; '.join(said)}){rest}" if said else line


def refused_hosts(refused: Iterable[str]) -> str:
    """The refused connections, each described, ``and``-joined."""
    return " and ".join(_described(line) for line in refused)


def what_to_do(refused: Iterable[str], env_name: str) -> str:
    """What to do about a build that failed after ``refused`` (its env called ``env_name``)."""
    if any(_host(line) in METADATA_HOSTS for line in refused):
        probe = (
            "A cloud SDK's client asks the metadata server for credentials when it is made "
            "(google.auth.default(), which firestore.Client() and the other Google Cloud "
            "clients call, raises DefaultCredentialsError when the probe fails)"
        )
        given = (
            "credentials it loads without asking (GOOGLE_APPLICATION_CREDENTIALS naming a "
            "service account key file) or an emulator's variables (FIRESTORE_EMULATOR_HOST, "
            "PUBSUB_EMULATOR_HOST, with GOOGLE_CLOUD_PROJECT)"
        )
    else:
        probe = (
            "A client library that catches a refused connection and raises its own error makes "
            "a failure nothing links to the connection"
        )
        given = "the credentials or the local server's address it would find there"
    return (
        f"{probe}: if the error came of that refusal, the check could not judge the "
        "configuration, so the build counts as neither accepted nor refused. Give the app what "
        f"it finds in production without the network, in {env_name}: {given}; or make the "
        f"client lazily, on its first use, not at import or in the factory ({GUARD_DOCS})"
    )


def could_not_judge(refused: Iterable[str], built_with: str, error: str) -> str:
    """The first line of a failure whose build (``built_with``: "the known-good env") failed
    with ``error`` (as shown) after the guard ``refused`` connections."""
    return (
        f"could not judge the production build with {built_with}: the check's network guard "
        f"refused its connection to {refused_hosts(refused)}, and the build then failed with "
        f"{error.rstrip('.')}"
    )
