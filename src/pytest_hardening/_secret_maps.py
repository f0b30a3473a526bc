"""Secrets held in a JSON value: one variable for several (``WEBHOOK_SECRETS_JSON={"stripe":
"...", "github": "..."}``, a key per provider or per tenant).

The audit's weak values for a secret replace the whole value: for such a map, ``changethis`` is
no JSON, so the app refuses it for its shape and the secrets inside were never tried. Here each
string in the map is a secret of its own: the audit weakens them one at a time, keeping the
rest as given, and a known-good map that holds a weak one is reported like a weak variable.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAP_KEYS", "Path", "secret_map", "shown", "with_entry"]

#: Where a string sits in the map: the keys from the top.
Path = tuple[str, ...]

#: Entries of a map the audit weakens: a few show whether the app checks them at all.
MAP_KEYS = 4


def secret_map(value: str) -> dict[Path, str] | None:
    """The string entries of ``value`` when it is a JSON object (nested objects' too, by their
    path), else None: a plain secret, or JSON without a string in it."""
    if not value.lstrip().startswith("{"):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    found: dict[Path, str] = {}
    _collect(parsed, (), found)
    return found or None


def _collect(node: Any, path: Path, found: dict[Path, str]) -> None:
    if isinstance(node, dict):
        for key, child in node.items():
            _collect(child, (*path, str(key)), found)
    elif isinstance(node, str) and path:
        found[path] = node


def with_entry(value: str, path: Path, new: str) -> str:
    """``value`` (a JSON object) with the string at ``path`` replaced by ``new``."""
    parsed = json.loads(value)
    node = parsed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = new
    return json.dumps(parsed)


def shown(path: Path) -> str:
    """How a report names an entry: ``at key 'stripe'`` (``'a' > 'b'`` when nested)."""
    return "at key " + " > ".join(repr(key) for key in path)
