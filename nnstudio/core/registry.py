"""Per-concern tables of the layer-type registry: one entry per catalogue type, added by a decorator.

The catalogue (`catalogue.LAYER_TYPES`) is the core entry of every layer type. Each package that owns a
concern keeps one `LayerRegistry` for it (the torch module builder and the code writer in `ml`, the block
summary in `gui`, ...) and registers an entry beside the code that implements it:

    BUILDERS = LayerRegistry("torch module builder")

    @BUILDERS.register("Dense")
    def _dense(params, in_shapes): ...

`missing()` names the catalogue types without an entry, so a test per concern fails the moment a new type
is added to the catalogue but not to that concern. No switch on type names is needed anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .catalogue import LAYER_TYPES

T = TypeVar("T")


class LayerRegistry(Generic[T]):
    """A table from layer-type name to one concern's entry."""

    def __init__(self, concern: str) -> None:
        self.concern = concern
        self._entries: dict[str, T] = {}

    def register(self, *type_names: str) -> Callable[[T], T]:
        """Decorator: register the decorated object for these catalogue types (unknown names are refused
        at import time, so a typo cannot hide an entry)."""
        for name in type_names:
            if name not in LAYER_TYPES:
                raise ValueError(f"{self.concern}: {name!r} is not a layer type of the catalogue")

        def add(entry: T) -> T:
            for name in type_names:
                if name in self._entries:
                    raise ValueError(f"{self.concern}: {name!r} is registered twice")
                self._entries[name] = entry
            return entry

        return add

    def add(self, type_name: str, entry: T) -> None:
        """Register a plain value (not a function) for one type."""
        self.register(type_name)(entry)

    def get(self, type_name: str) -> T | None:
        return self._entries.get(type_name)

    def __getitem__(self, type_name: str) -> T:
        try:
            return self._entries[type_name]
        except KeyError:
            raise KeyError(f"{self.concern} has no entry for layer type {type_name!r}") from None

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def missing(self) -> list[str]:
        """Catalogue types without an entry here (empty when the concern covers every type)."""
        return [name for name in LAYER_TYPES if name not in self._entries]
