"""The places a holder keeps a function in: reading them, and putting a real one back.

Shared by the sweep (:mod:`._clock_holders`, and :mod:`._clock_repoint`, which re-points what
these places hold) and the record of a sweep (:mod:`._clock_replay`), which counts what they
hold.
"""

from __future__ import annotations

import functools
import types
from typing import Any

__all__ = [
    "function_containers",
    "held",
    "instance_dict",
    "restore_attr",
    "restore_cell",
    "restore_item",
    "restore_slot",
]


def function_containers(fn: Any) -> dict[int, Any]:
    places = [fn.__defaults__, fn.__kwdefaults__, fn.__dict__, *(fn.__closure__ or ())]
    return {id(c): c for c in places if c is not None}


def instance_dict(obj: Any) -> Any:
    try:
        namespace = object.__getattribute__(obj, "__dict__")
    except Exception:  # no __dict__, or a proxy that will not say
        return None
    return namespace if type(namespace) is dict else None


def held(source: Any, ids: set[int]) -> int:
    """How many of the functions whose ids are ``ids`` ``source`` holds where a sweep looks."""
    if isinstance(source, types.FunctionType):
        values = [*(source.__defaults__ or ()), *(source.__kwdefaults__ or {}).values()]
        values += [*source.__dict__.values(), *_cells(source.__closure__ or ())]
    elif isinstance(source, type):
        values = list(vars(source).values())
    elif isinstance(source, functools.partial):
        values = [source.func, *source.args, *source.keywords.values()]
    elif type(source) is dict:
        values = list(source.values())
    elif type(source) in (list, tuple):
        values = list(source)
    else:
        namespace = instance_dict(source)
        values = list(namespace.values()) if namespace is not None else []
        for klass in type(source).__mro__:
            for member in vars(klass).values():
                if isinstance(member, types.MemberDescriptorType):
                    try:
                        values.append(member.__get__(source, type(source)))
                    except AttributeError:  # an empty slot
                        continue
    return sum(id(value) in ids for value in values)


def _cells(cells: tuple[types.CellType, ...]) -> list[Any]:
    values = []
    for cell in cells:
        try:
            values.append(cell.cell_contents)
        except ValueError:  # an empty cell
            continue
    return values


def restore_item(namespace: dict[Any, Any], key: Any, fake: Any, real: Any) -> None:
    if namespace.get(key) is fake:
        namespace[key] = real


def restore_cell(cell: types.CellType, fake: Any, real: Any) -> None:
    if cell.cell_contents is fake:
        cell.cell_contents = real


def restore_attr(obj: Any, name: str, fake: Any, real: Any) -> None:
    if getattr(obj, name, None) is fake:
        setattr(obj, name, real)


def restore_slot(member: Any, holder: Any, fake: Any, real: Any) -> None:
    if member.__get__(holder, type(holder)) is fake:
        member.__set__(holder, real)
