"""Automatic layout: layers in columns by topological depth, left to right, ordered to limit crossings.

A connection that skips columns reserves a slot in every column it crosses (a "dummy" node, as in
Sugiyama-style layouts), so the curve runs through a gap instead of behind the blocks it passes.
"""

from __future__ import annotations

from collections.abc import Hashable

from nnstudio.core import Design
from nnstudio.core.inference import topological_order

Position = tuple[float, float]


def layer_depths(design: Design) -> dict[str, int]:
    """Column of each layer: the longest path from a source; the Output ends the picture."""
    order, stuck = topological_order(design)
    depth = {lid: 0 for lid in design.layers}
    for lid in order:
        for nxt in design.outputs_of(lid):
            if nxt not in stuck:
                depth[nxt] = max(depth[nxt], depth[lid] + 1)
    last = max(depth.values(), default=0)
    for lid in order:  # even when a shorter branch reaches it
        if design.layers[lid].type == "Output" and not design.outputs_of(lid):
            depth[lid] = last
    for lid in sorted(stuck, key=list(design.layers).index):  # layers on a cycle: one column after the rest
        depth[lid] = last + 1
    return depth


def layered_layout(design: Design, column_step: float, row_step: float,
                   origin: Position = (0.0, 0.0)) -> dict[str, Position]:
    """Top-left positions for every layer, rows of each column centred on the origin's y."""
    if not design.layers:
        return {}
    depth: dict[Hashable, int] = dict(layer_depths(design))
    preds: dict[Hashable, list[Hashable]] = {lid: [] for lid in design.layers}
    succs: dict[Hashable, list[Hashable]] = {lid: [] for lid in design.layers}
    for n, conn in enumerate(design.connections):
        chain: list[Hashable] = [conn.source]
        lo, hi = depth[conn.source], depth[conn.target]
        for col in range(lo + 1, hi):
            dummy = ("via", n, col)
            depth[dummy] = col
            preds[dummy], succs[dummy] = [], []
            chain.append(dummy)
        chain.append(conn.target)
        for a, b in zip(chain, chain[1:], strict=False):
            succs[a].append(b)
            preds[b].append(a)

    columns: dict[int, list[Hashable]] = {}
    for node in depth:  # document order is the first guess within a column; dummies follow
        columns.setdefault(depth[node], []).append(node)
    ranks = sorted(columns)
    row = {node: i for col in columns.values() for i, node in enumerate(col)}

    def reorder(col: list[Hashable], neighbours: dict[Hashable, list[Hashable]]) -> None:
        def key(node: Hashable) -> tuple[float, int]:
            rows = [row[n] for n in neighbours[node]]
            return (sum(rows) / len(rows) if rows else row[node], row[node])
        col.sort(key=key)
        for i, node in enumerate(col):
            row[node] = i

    # Barycentre sweeps, down and up, remove most crossings in practice.
    for _ in range(2):
        for rank in ranks[1:]:
            reorder(columns[rank], preds)
        for rank in reversed(ranks[:-1]):
            reorder(columns[rank], succs)

    ox, oy = origin
    positions: dict[str, Position] = {}
    for rank, col in columns.items():
        top = oy - (len(col) - 1) * row_step / 2
        for i, node in enumerate(col):
            if isinstance(node, str):
                positions[node] = (round(ox + rank * column_step), round(top + i * row_step))
    return positions
