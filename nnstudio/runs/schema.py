"""The run store's SQLite schema: its identity, its version and the migrations that bring old files forward.

A store file is recognised by SQLite's `application_id` header field (NNSR); `user_version` is the schema
version. A fresh file is created at version 1 and then migrated like an old one, so the migration path is
the one every new store takes. A file with a newer version is refused, naming both versions.
"""

from __future__ import annotations

import sqlite3

APPLICATION_ID = 0x4E4E5352  # "NNSR": NN Studio run store
SCHEMA_VERSION = 2

# Version 1: runs and their per-epoch history.
_V1 = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    design_file TEXT NOT NULL DEFAULT '',
    design_name TEXT NOT NULL DEFAULT '',
    design_json TEXT NOT NULL,
    design_hash TEXT NOT NULL,
    settings_json TEXT NOT NULL,
    seed INTEGER,
    device TEXT NOT NULL DEFAULT '',
    task TEXT NOT NULL DEFAULT '',
    started_at REAL NOT NULL,
    ended_at REAL,
    status TEXT NOT NULL DEFAULT 'running',
    message TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT '',
    epochs INTEGER NOT NULL DEFAULT 0,
    steps INTEGER NOT NULL DEFAULT 0,
    train_loss REAL, val_loss REAL, train_accuracy REAL, val_accuracy REAL,
    checkpoint TEXT NOT NULL DEFAULT '',
    checkpoint_sha256 TEXT NOT NULL DEFAULT ''
);
CREATE TABLE epochs (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    step INTEGER NOT NULL,
    elapsed REAL,
    learning_rate REAL,
    train_loss REAL, val_loss REAL, train_accuracy REAL, val_accuracy REAL,
    grad_norm REAL,
    grad_norms_json TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, epoch)
);
CREATE INDEX runs_by_design ON runs(design_file, started_at);
"""

# Version 2: sweeps (a run may belong to one) and branches (a run continued from another's checkpoint).
_V1_TO_V2 = """
CREATE TABLE sweeps (
    uid TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    design_file TEXT NOT NULL DEFAULT '',
    spec_json TEXT NOT NULL
);
ALTER TABLE runs ADD COLUMN sweep_uid TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN parent_uid TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN changes_json TEXT NOT NULL DEFAULT '{}';
"""

MIGRATIONS: dict[int, str] = {1: _V1_TO_V2}  # from version k to k + 1


class StoreVersionError(Exception):
    """The file was written by a newer NN Studio."""


class ForeignStoreError(Exception):
    """The file is an SQLite database, but not an NN Studio run store."""


def identify(conn: sqlite3.Connection) -> None:
    """Refuse another program's database before anything (even the journal mode) is changed in it."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    if app_id != APPLICATION_ID and (app_id != 0 or tables):
        raise ForeignStoreError(f"it is an SQLite database of another program (tables: "
                                f"{', '.join(sorted(tables)[:5]) or 'none'})")


def prepare(conn: sqlite3.Connection) -> int:
    """Create or migrate the schema inside one immediate transaction; returns the version found on disk.

    Run by the one writer. Two processes opening a new store at once serialise on the transaction: the
    second sees the first's finished schema.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        if app_id == 0 and version == 0 and not tables:
            found = 0
            for statement in _statements(_V1):
                conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            version = 1
        elif app_id != APPLICATION_ID:
            raise ForeignStoreError(f"it is an SQLite database of another program (tables: "
                                    f"{', '.join(sorted(tables)[:5]) or 'none'})")
        else:
            found = version
        if version > SCHEMA_VERSION:
            raise StoreVersionError(f"the run store has schema version {version}, but this NN Studio reads "
                                    f"versions up to {SCHEMA_VERSION}: update NN Studio")
        while version < SCHEMA_VERSION:
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            version += 1
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
