"""`hrm-bot health`, the container's health check: each followed edition's last successful
poll against 10 x POLL_INTERVAL, read from a real database that it must never change."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from storage import Store
from storage.db import SCHEMA_VERSION

EN, FA = "en.example.org", "fa.example.org"
INTERVAL = 60  # seconds: stale after 600


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings for both editions (never contacted: health reads the database only)."""
    for key in ("TELEGRAM_BOT_TOKEN", "LOG_LEVEL", "LOG_FORMAT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    path = tmp_path / "data" / "db.sqlite3"
    monkeypatch.setenv("SITE_URL", f"https://{EN}")
    monkeypatch.setenv("SITE_URL_FA", f"https://{FA}")
    monkeypatch.setenv("DATABASE_PATH", str(path))
    monkeypatch.setenv("POLL_INTERVAL", str(INTERVAL))
    return path


def ago(seconds: float) -> str:
    """A last success as the poller records it: to the second, so up to a second older than
    asked (the tests keep a minute away from the limit)."""
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(timespec="seconds")


def record(path: Path, states: dict[str, dict[str, object]]) -> None:
    async def write() -> None:
        store = await Store.open(path)
        try:
            for site, values in states.items():
                await store.set_state(site, values)
        finally:
            await store.close()

    asyncio.run(write())


def health(capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], list[str]]:
    capsys.readouterr()
    out = io.StringIO()
    code = main(["health"], out=out)
    return code, out.getvalue().splitlines(), capsys.readouterr().err.splitlines()


def test_fresh_polls_pass(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record(db, {EN: {"last_success": ago(30)}, FA: {"last_success": ago(540)}})
    code, out, err = health(capsys)
    assert (code, err) == (0, [])
    assert out[0].startswith(f"en ({EN}): last successful poll ") and out[0].endswith(" ago")
    assert out[1].startswith(f"fa ({FA}): last successful poll ")


def test_one_stale_edition_fails_naming_it(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale, fresh = ago(2 * 3600 + 5 * 60), ago(90)
    record(db, {EN: {"last_success": stale, "failures": 4}, FA: {"last_success": fresh}})
    code, out, err = health(capsys)
    assert code == 1
    assert out == [f"fa ({FA}): last successful poll {fresh}, 1 min ago"]
    assert err == [
        f"hrm-bot: health: en ({EN}): no successful poll since {stale}, 2 h 5 min ago "
        "(more than 10 x POLL_INTERVAL = 10 min)"
    ]


def test_never_polled_successfully_fails(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Polled, but the site has been down from the start: stale too, since there is nothing to
    # wait for; Docker's start period covers the bot's first poll.
    record(db, {EN: {"last_success": ago(1)}, FA: {"last_poll": {"at": ago(1)}, "failures": 1}})
    code, out, err = health(capsys)
    assert (code, len(out)) == (1, 1)
    assert err == [f"hrm-bot: health: fa ({FA}): no successful poll yet"]


def test_both_stale_one_line_each(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record(db, {EN: {"last_success": ago(3 * 86400)}, FA: {"last_success": ago(660)}})
    code, out, err = health(capsys)
    assert (code, out) == (1, [])
    assert [line.split(": no successful poll since ")[0] for line in err] == [
        f"hrm-bot: health: en ({EN})",
        f"hrm-bot: health: fa ({FA})",
    ]
    assert err[0].endswith(", 3 d 0 h ago (more than 10 x POLL_INTERVAL = 10 min)")


def test_persian_edition_off_is_not_checked(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A Persian edition followed once and then switched off keeps its old state.
    record(db, {EN: {"last_success": ago(10)}, FA: {"last_success": ago(86400)}})
    monkeypatch.setenv("SITE_URL_FA", "off")
    code, out, err = health(capsys)
    assert (code, err) == (0, [])
    assert len(out) == 1 and out[0].startswith(f"en ({EN}): ")


def test_missing_database_fails_and_creates_nothing(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = health(capsys)
    assert (code, out) == (1, [])
    assert err == [
        f"hrm-bot: health: no database at {db} yet (`hrm-bot run` creates it as it starts)"
    ]
    assert not db.parent.exists()


def test_bad_databases_fail_with_one_line_and_stay_as_they_were(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db.parent.mkdir()

    def older_schema() -> None:
        with sqlite3.connect(db) as con:
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
        con.close()

    def not_sqlite() -> None:
        db.write_bytes(b"this is not a database" * 100)

    def a_folder() -> None:
        db.mkdir()

    def not_a_date() -> None:
        record(db, {EN: {"last_success": "yesterday"}, FA: {"last_success": ago(1)}})

    cases = [
        (older_schema, f"schema version {SCHEMA_VERSION - 1}, this program {SCHEMA_VERSION}"),
        (not_sqlite, f"cannot read database {db}"),
        (a_folder, "it is a folder, not a file"),
        (not_a_date, f"en ({EN}): the last success recorded is not a date ('yesterday')"),
    ]
    for make, expected in cases:
        make()
        before = snapshot(db)
        code, _, err = health(capsys)
        assert code == 1, make.__name__
        assert len(err) == 1 and expected in err[0], (make.__name__, err)
        assert snapshot(db) == before, make.__name__
        if db.is_dir():
            db.rmdir()
        else:
            for p in db.parent.iterdir():
                p.unlink()


def snapshot(db: Path) -> dict[str, tuple[int, int]]:
    """The database's files but the WAL's own (-wal, -shm), which any reader of a database
    in WAL mode makes: nothing else is created, migrated or written."""
    return {
        p.name: (p.stat().st_mtime_ns, p.stat().st_size)
        for p in db.parent.iterdir()
        if not p.name.endswith(("-wal", "-shm"))
    }
