"""The hrm-bot command: settings, exit codes and each command against the loopback site."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings, load_settings
from bot.errors import ConfigError
from tests.fakes.wordpress import FakeWordPress

ENV_KEYS = [
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_URL",
    "SITE_URL",
    "DATABASE_PATH",
    "POLL_INTERVAL",
    "ADMIN_IDS",
    "LOG_LEVEL",
    "FETCH_TIMEOUT",
    "MAX_RESPONSE_BYTES",
]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wp: FakeWordPress) -> Path:
    """A clean environment in an empty working directory, pointed at the loopback site."""
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SITE_URL", wp.url)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "data" / "db.sqlite3"))
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


def test_defaults() -> None:
    s = load_settings({}, dotenv=None)
    assert s == Settings()
    assert s.site == "iran-hrm.com"
    assert s.database_path == Path("data/hrm-bot.sqlite3")
    assert (s.poll_interval, s.admin_ids, s.telegram_api_url) == (
        300.0,
        frozenset(),
        "https://api.telegram.org",
    )


def test_dotenv_and_environment(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# comment\nexport POLL_INTERVAL=60\nADMIN_IDS='1, 2'\nSITE_URL=https://example.org/ "
        "# trailing\nLOG_LEVEL=\n"
    )
    s = load_settings({"POLL_INTERVAL": "30"}, dotenv=dotenv)
    assert s.poll_interval == 30.0  # the environment wins
    assert s.admin_ids == frozenset({1, 2})
    assert s.site_url == "https://example.org"
    assert s.log_level == "INFO"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("POLL_INTERVAL", "0"),
        ("POLL_INTERVAL", "soon"),
        ("ADMIN_IDS", "12,abc"),
        ("SITE_URL", "ftp://iran-hrm.com"),
        ("TELEGRAM_API_URL", "api.telegram.org"),
        ("LOG_LEVEL", "LOUD"),
        ("MAX_RESPONSE_BYTES", "10"),
    ],
)
def test_bad_values_name_the_variable(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_settings({key: value}, dotenv=None)


def test_bad_setting_is_one_line_and_exit_2(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLL_INTERVAL", "-5")
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "status"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "POLL_INTERVAL must be a number of at least 1" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_usage_error_is_exit_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "backfill", "--max-pages", "zero"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "--max-pages" in proc.stderr


def test_ingest_search_status_categories(env: Path) -> None:
    code, out = run("ingest")
    assert code == 0
    assert out.strip() == (
        "rest: 20 new, 0 modified, 0 unchanged (first poll: stored as already known)"
    )
    code, out = run("search", "Qarchak")
    assert code == 0 and "Overcrowding and Water Shortages" in out and "*Qarchak*" in out
    code, out = run("search", "قزلحصار")
    assert code == 0 and "اعدام دو زندانی" in out
    code, out = run("search", "hanged", "--category", "women")
    assert code == 0 and out.startswith("2025-06-09  Woman Hanged in Adelabad Prison")
    code, out = run("status")
    assert code == 0 and "posts stored: 20" in out and "rest: 20 new" in out
    code, out = run("categories")
    lines = out.splitlines()
    assert "Executions  (executions)" in lines
    assert "  Political prisoners  (political-prisoners-executions)" in lines


def test_search_refusals(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("ingest")[0] == 0
    assert run("search", "x" * 300)[0] == 2
    assert "too long" in capsys.readouterr().err
    assert run("search", "evin", "--category", "nope")[0] == 2
    assert "no category" in capsys.readouterr().err
    code, out = run("search", '"foo* OR (')
    assert (code, out.strip()) == (0, "no matches")


def test_backfill_prints_progress(env: Path, wp: FakeWordPress) -> None:
    wp.add_posts(130)
    code, out = run("backfill", "--max-pages", "1")
    assert code == 0
    assert out.splitlines() == [
        "page 1/2 (rest): 100 posts stored",
        "backfill: 100 posts stored or updated; 100 in the store",
    ]
    code, out = run("backfill")
    assert code == 0 and out.splitlines()[-1].endswith("150 in the store")


def test_failed_ingest_is_exit_1(env: Path, wp: FakeWordPress) -> None:
    wp.fault("status", "/", status=503)
    code, out = run("ingest")
    assert code == 1 and out.startswith("failed: ")
    code, out = run("status")
    assert "failures in a row: 1" in out


def test_malformed_dotenv_line_is_not_echoed(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("TELEGRAM_BOT_TOKEN: 123456:secret\n")
    with pytest.raises(ConfigError) as e:
        load_settings({}, dotenv=dotenv)
    assert "secret" not in str(e.value) and ":1 must be KEY=VALUE" in str(e.value)
