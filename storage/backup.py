"""A consistent copy of the archive, made with SQLite's online backup while the bot runs.

A file copy of a database in WAL mode can miss what the log holds, or catch a page half
written; the backup API reads one consistent snapshot through a connection of its own. The
copy is written beside its destination and renamed into place, so that no reader ever sees
half a backup, and it is checked (PRAGMA integrity_check) before it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from pathlib import Path

import aiosqlite

from storage.db import connect_read_only
from storage.errors import ArchiveMissing, StoreError


def _partial(source: Path, dest: Path, force: bool) -> Path:
    """The partial file beside ``dest``, or why not."""
    if not source.is_file():
        raise ArchiveMissing(source)
    if dest.is_dir():
        raise StoreError(f"{dest} is a folder: give a file name")
    # --force must never replace the archive itself (or its log, index or lock): the running
    # bot would go on writing to the replaced file, and lose all of it at its next start.
    own = {Path(f"{source}{suffix}") for suffix in ("", "-wal", "-shm", "-journal", ".lock")}
    if any(_same_file(dest, path) for path in own):
        raise StoreError(f"{dest} is the archive itself (or one of its files): give another name")
    if dest.exists() and not dest.is_file():
        raise StoreError(f"{dest} is not a regular file: give another name")
    if dest.exists() and not force:
        raise StoreError(f"{dest} exists: give another name, or --force to replace it")
    folder = dest.parent
    if not folder.is_dir():
        raise StoreError(f"cannot write the backup: there is no folder {folder}")
    return folder / f".{dest.name}.{os.getpid()}.partial"


def _same_file(a: Path, b: Path) -> bool:
    """The same file, through links, relative paths or another name for its folder."""
    if a.absolute() == b.absolute():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return a.resolve() == b.resolve()


def _discard(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        tmp.unlink()


async def backup(source: Path, dest: Path, *, force: bool = False) -> int:
    """Copy the archive at ``source`` to ``dest``; returns the copy's size in bytes."""
    tmp = await asyncio.to_thread(_partial, source, dest, force)
    # Older: `hrm-bot run` (or any command) migrates it first, maybe right now. Newer: written
    # by a newer hrm-bot, which should make its backups.
    src = await connect_read_only(
        source,
        older="let `hrm-bot run` or `hrm-bot status` finish migrating it, then back up",
        newer="back it up with the newer hrm-bot that wrote it",
    )
    try:
        try:
            dst = await aiosqlite.connect(tmp)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the backup beside {dest}: {exc}") from exc
        try:
            # All pages in one step: one read transaction, so one consistent snapshot.
            await src.backup(dst, pages=-1)
            async with dst.execute("PRAGMA integrity_check") as cur:
                check = await cur.fetchone()
            if not check or check[0] != "ok":
                raise StoreError(f"the backup failed its integrity check: {check}")
        finally:
            await dst.close()
        await asyncio.to_thread(os.replace, tmp, dest)
        return (await asyncio.to_thread(dest.stat)).st_size
    except sqlite3.Error as exc:
        raise StoreError(f"cannot back up {source}: {exc}") from exc
    except OSError as exc:
        raise StoreError(f"cannot write the backup {dest}: {exc.strerror or exc}") from exc
    finally:
        await src.close()
        await asyncio.to_thread(_discard, tmp)
