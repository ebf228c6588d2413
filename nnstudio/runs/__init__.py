"""The run store: every training run remembered in one SQLite file per design folder (no torch, no Qt).

`RunStore` is the API (writes go through one writer thread; reads through their own connection);
`store_path_for` says where a design's store lives; `RunRecord` / `EpochRecord` are what it returns.
"""

from .location import checkpoint_folder, design_key, store_path_for
from .records import STATUSES, EpochRecord, RunRecord, design_hash
from .schema import APPLICATION_ID, SCHEMA_VERSION, StoreVersionError
from .store import RunStore, StoreError

__all__ = [
    "APPLICATION_ID", "SCHEMA_VERSION", "STATUSES", "EpochRecord", "RunRecord", "RunStore", "StoreError",
    "StoreVersionError", "checkpoint_folder", "design_hash", "design_key", "store_path_for",
]
