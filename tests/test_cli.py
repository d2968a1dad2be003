"""The hrm-bot command: settings, exit codes and each command against the loopback site."""

from __future__ import annotations

import io
import os
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot import config
from bot.cli import main
from bot.config import Settings, load_settings
from bot.errors import ConfigError
from tests.conftest import site_key
from tests.fakes.wordpress import FakeWordPress

ENV_KEYS = [
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_URL",
    "SITE_URL",
    "SITE_URL_FA",
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
    monkeypatch.setenv("SITE_URL_FA", "")
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
        60.0,
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
    assert "POLL_INTERVAL must be a number from 1 to 86400 (seconds)" in proc.stderr
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
        "en: rest: 20 new, 0 modified, 0 unchanged (first poll: stored as already known)"
    )
    code, out = run("search", "Qarchak")
    assert code == 0 and "Overcrowding and Water Shortages" in out and "*Qarchak*" in out
    code, out = run("search", "قزلحصار")
    assert code == 0 and "اعدام دو زندانی" in out
    code, out = run("search", "--category", "women", "hanged")
    assert code == 0 and out.startswith("2025-06-09  Woman Hanged in Adelabad Prison")
    code, out = run("status")
    assert code == 0 and "posts stored: 20" in out and "rest: 20 new" in out
    code, out = run("categories")
    lines = out.splitlines()
    assert lines[0].startswith("en: http://127.0.0.1:")
    assert "  Executions  (executions)" in lines
    assert "    Political prisoners  (political-prisoners-executions)" in lines


def test_search_refusals(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("ingest")[0] == 0
    assert run("search", "x" * 300)[0] == 2
    assert "too long" in capsys.readouterr().err
    assert run("search", "--category", "nope", "evin")[0] == 2
    assert "no category" in capsys.readouterr().err
    # An option after the query would silently become words: it is refused instead.
    assert run("search", "evin", "--category", "women")[0] == 2
    assert "put --category before the query" in capsys.readouterr().err
    code, out = run("search", '"foo* OR (')
    assert (code, out.strip()) == (0, "no matches")


def test_backfill_prints_progress(env: Path, wp: FakeWordPress) -> None:
    wp.add_posts(130)
    code, out = run("backfill", "--max-pages", "1")
    assert code == 0
    assert out.splitlines() == [
        "en: page 1/2 (rest): 100 posts stored",
        "en: backfill: 100 posts stored or updated; 100 in the store",
    ]
    code, out = run("backfill")
    assert code == 0 and out.splitlines()[-1].endswith("150 in the store")


def test_failed_ingest_is_exit_1(
    env: Path, wp: FakeWordPress, capsys: pytest.CaptureFixture[str]
) -> None:
    wp.fault("status", "/", status=503)
    code, out = run("ingest")
    assert (code, out) == (1, "")
    assert capsys.readouterr().err.startswith(
        f"hrm-bot: ingest of en ({site_key(wp.url)}) failed: "
    )
    code, out = run("status")
    assert "failures in a row: 1" in out
    # The error is said once, on the last poll's line.
    assert out.count("HTTP 503") == 2  # the feed's, and the REST API's before it


def test_malformed_dotenv_line_is_not_echoed(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("TELEGRAM_BOT_TOKEN: 123456:secret\n")
    with pytest.raises(ConfigError) as e:
        load_settings({}, dotenv=dotenv)
    assert "secret" not in str(e.value) and ":1 must be KEY=VALUE" in str(e.value)


# -- settings: bad numbers, the API root, sources ----------------------------------------------

NUMERIC = [
    "POLL_INTERVAL",
    "FETCH_TIMEOUT",
    "MAX_RESPONSE_BYTES",
    "SEND_RATE",
    "PRIVATE_CHAT_INTERVAL",
    "GROUP_MESSAGES_PER_MINUTE",
    "SEND_MAX_ATTEMPTS",
    "SEND_RETRY_BASE",
    "SEND_RETRY_MAX",
    "SEARCH_PER_MINUTE",
    "INLINE_PER_MINUTE",
]


@pytest.mark.parametrize("key", NUMERIC)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e308", "NaN", "10000000000000"])
def test_numbers_must_be_finite_and_sane(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{key} must be a (whole )?number from "):
        load_settings({key: value}, dotenv=None)


def test_whole_numbers_say_so() -> None:
    with pytest.raises(ConfigError) as e:
        load_settings({"MAX_RESPONSE_BYTES": "1e6"}, dotenv=None)
    assert str(e.value) == (
        "MAX_RESPONSE_BYTES must be a whole number from 1024 to 1073741824 (bytes), "
        "got '1e6' (set in the environment)"
    )
    assert load_settings({"POLL_INTERVAL": "86400"}, dotenv=None).poll_interval == 86400


@pytest.mark.parametrize(
    "url",
    [
        "https://api.telegram.org/bot",
        "https://api.telegram.org/bot/",
        "https://api.telegram.org/bot123456:TEST-secret",
        "https://api.telegram.org/bot123456:TEST-secret/getMe",
        "https:bot123456:TEST-secret",
    ],
)
def test_api_root_with_bot_or_token_is_refused_without_echo(url: str) -> None:
    with pytest.raises(ConfigError, match=r"^TELEGRAM_API_URL must be") as e:
        load_settings({"TELEGRAM_API_URL": url}, dotenv=None)
    assert "TEST-secret" not in str(e.value) and "\n" not in str(e.value)


def test_api_root_may_have_a_path_of_its_own() -> None:
    s = load_settings({"TELEGRAM_API_URL": "https://tg.example.org/botapi/"}, dotenv=None)
    assert s.telegram_api_url == "https://tg.example.org/botapi"


def test_malformed_token_is_refused_without_echo() -> None:
    with pytest.raises(ConfigError, match="does not look like a token") as e:
        load_settings({"TELEGRAM_BOT_TOKEN": "123456:TEST secret"}, dotenv=None)
    assert "secret" not in str(e.value)


def test_empty_environment_value_does_not_hide_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("TELEGRAM_BOT_TOKEN=123456:from-file\nPOLL_INTERVAL=60\n")
    s = load_settings({"TELEGRAM_BOT_TOKEN": "", "POLL_INTERVAL": "30"}, dotenv=dotenv)
    assert s.telegram_bot_token == "123456:from-file"
    assert s.sources == {"TELEGRAM_BOT_TOKEN": str(dotenv), "POLL_INTERVAL": "the environment"}
    with pytest.raises(ConfigError, match=r"POLL_INTERVAL .* \(set in .*\.env\)$"):
        load_settings({}, dotenv=_write(tmp_path, "POLL_INTERVAL=0\n"))


def _write(folder: Path, text: str) -> Path:
    path = folder / "other.env"
    path.write_text(text)
    return path


def test_unknown_keys_that_look_like_ours_are_warned_of(tmp_path: Path) -> None:
    dotenv = _write(tmp_path, "SITE_URLL=https://x.org\nsite_url=https://y.org\nMY_OWN=1\n")
    heard: list[str] = []
    s = load_settings({}, dotenv=dotenv, warn=heard.append)
    assert s.site_url == "https://iran-hrm.com"
    assert heard == [
        "SITE_URLL is not a setting of hrm-bot; did you mean SITE_URL?",
        "site_url is not read: names are upper-case (SITE_URL)",
    ]


def test_run_without_token_says_which_sources_it_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# no token here\nPOLL_INTERVAL=60\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env={**env, "TELEGRAM_BOT_TOKEN": "", "SITE_URLL": "x"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "it is empty in the environment" in proc.stderr
    assert f"{tmp_path / '.env'} has no value for it" in proc.stderr


def test_dotenv_typo_is_warned_once_on_stderr(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SITE_URLL=https://x.org\n")
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "status"],
        env=_clean_env(DATABASE_PATH=str(tmp_path / "db.sqlite3")),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.stderr.count("SITE_URLL") == 1
    assert "did you mean SITE_URL?" in proc.stderr


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    env["SITE_URL_FA"] = ""  # no Persian edition: its real site is out of reach here
    env.update(extra)
    return env


# -- the command line: search words, help texts ------------------------------------------------


def test_search_takes_everything_after_it_as_the_query(env: Path) -> None:
    assert run("ingest")[0] == 0
    code, with_minus = run("search", "prison", "-Qarchak")
    assert code == 0
    code, plain = run("search", "prison")
    assert "Qarchak" in plain and "Qarchak" not in with_minus
    assert len(with_minus.splitlines()) < len(plain.splitlines())
    code, out = run("search", "--", "-Qarchak", "prison")
    assert code == 0 and out == with_minus
    code, out = run("search", "--limit", "1", "prison")
    assert code == 0 and out.count("https://") == 1


def test_search_with_a_leading_minus_word_from_the_shell(env: Path) -> None:
    assert run("ingest")[0] == 0
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "search", "prison", "-Qarchak"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "usage" not in proc.stderr and "Qarchak" not in proc.stdout


def test_every_subcommand_help_has_a_description(capsys: pytest.CaptureFixture[str]) -> None:
    helps = {}
    for command in ("run", "ingest", "backfill", "search", "categories", "status"):
        with pytest.raises(SystemExit) as e:
            main([command, "--help"])
        assert e.value.code == 0
        helps[command] = capsys.readouterr().out
        # The line after usage is the command's own description, not just the options.
        assert helps[command].split("\n\n")[1].strip()[:1].isupper(), command
    for term in ("category:", "since:", "until:", '"death row"', "-drug", "execut*", "--"):
        assert term in helps["search"], term
    assert "2024-01-31" in helps["backfill"]
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "exit codes: 0 success, 1 failure, 2 usage" in capsys.readouterr().out


# -- read-only commands on no archive ----------------------------------------------------------


@pytest.mark.parametrize("command", [["status"], ["search", "evin"], ["categories"]])
def test_read_only_commands_create_no_database(
    env: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(*command)
    err = capsys.readouterr().err
    assert code == 1 and out == ""
    assert "does not exist yet" in err and "hrm-bot ingest" in err and "backfill" in err
    assert not (env / "data").exists()


def test_search_on_an_empty_archive_says_so(
    env: Path, wp: FakeWordPress, capsys: pytest.CaptureFixture[str]
) -> None:
    wp.fault("status", "/", status=503)
    assert run("ingest")[0] == 1  # the file now exists, with no post in it
    code, out = run("search", "evin")
    assert code == 1 and out == ""
    assert "is empty: fill it with `hrm-bot ingest`" in capsys.readouterr().err


# -- one summary line; log lines only when asked -------------------------------------------------


def _hrm(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=_clean_env(**env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_ingest_prints_one_line(tmp_path: Path, wp: FakeWordPress) -> None:
    db = str(tmp_path / "db.sqlite3")
    proc = _hrm(["ingest"], tmp_path, SITE_URL=wp.url, DATABASE_PATH=db)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.splitlines() == [
        "en: rest: 20 new, 0 modified, 0 unchanged (first poll: stored as already known)"
    ]
    wp.fault("status", "/", status=503)
    proc = _hrm(["ingest"], tmp_path, SITE_URL=wp.url, DATABASE_PATH=db)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.splitlines() == [
        f"hrm-bot: ingest of en ({site_key(wp.url)}) failed: GET /feed/: HTTP 503 "
        "(REST API: GET /wp-json/wp/v2/posts: HTTP 503)"
    ]
    verbose = _hrm(["ingest"], tmp_path, SITE_URL=wp.url, DATABASE_PATH=db, LOG_LEVEL="INFO")
    assert verbose.returncode == 1
    assert "INFO bot.site.poller: poll: REST API: GET /wp-json/wp/v2/posts: HTTP 503" in (
        verbose.stderr
    )


# -- backfill: one line and exit 1 on every failure; the same fallback as a poll ---------------


def test_backfill_falls_back_to_the_feed_when_rest_fails(env: Path, wp: FakeWordPress) -> None:
    wp.fault("status", "/wp-json/", status=503)
    code, out = run("backfill")
    assert code == 0
    assert out.splitlines()[0] == "en: page 1 (rss): 10 posts stored"
    assert out.splitlines()[-1] == "en: backfill: 20 posts stored or updated; 20 in the store"


@pytest.mark.parametrize(
    ("faults", "reason"),
    [
        ([("status", "/", {"status": 503})], "GET /feed/: HTTP 503 (REST API: GET /wp-json/"),
        (
            [("status", "/wp-json/", {"status": 404}), ("status", "/feed/", {"status": 503})],
            "GET /feed/: HTTP 503 (REST API: HTTP 404)",
        ),
        ([("timeout", "/", {"delay": 5})], "no complete answer within 0.5 s"),
    ],
)
def test_backfill_failure_is_one_line(
    tmp_path: Path, wp: FakeWordPress, faults: list[tuple[str, str, dict[str, int]]], reason: str
) -> None:
    for mode, path, params in faults:
        wp.fault(mode, path, **params)
    proc = _hrm(
        ["backfill"],
        tmp_path,
        SITE_URL=wp.url,
        DATABASE_PATH=str(tmp_path / "db.sqlite3"),
        FETCH_TIMEOUT="0.5",
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(f"hrm-bot: backfill of en ({site_key(wp.url)}) stopped: ")
    assert reason in proc.stderr


def test_backfill_of_an_unreachable_site_is_one_line(tmp_path: Path) -> None:
    proc = _hrm(
        ["backfill"],
        tmp_path,
        SITE_URL=f"http://127.0.0.1:{_closed_port()}",
        DATABASE_PATH=str(tmp_path / "db.sqlite3"),
    )
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert "cannot connect (no such host, refused or unreachable)" in proc.stderr


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_reset_connection_says_what_happened(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with ResettingServer() as url:
        monkeypatch.setenv("SITE_URL", url)
        code, _ = run("ingest")
    out = capsys.readouterr().err
    assert code == 1
    assert "the connection was reset or closed while reading the answer" in out
    assert "ReadError: )" not in out and not out.rstrip().endswith(": ")


class ResettingServer:
    """Answers every request with the start of a response, then a TCP reset (RST)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<rss")
                # Linger 0: close() sends RST instead of FIN, as a crashing proxy does.
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        self.thread.join(timeout=5)


# -- a database where none can be made: one line, in every command -----------------------------


@pytest.mark.parametrize(
    "command", [["ingest"], ["backfill"], ["status"], ["search", "evin"], ["categories"], ["run"]]
)
@pytest.mark.parametrize("where", ["proc", "file", "garbage"])
def test_unusable_database_path_is_one_line(
    tmp_path: Path, wp: FakeWordPress, command: list[str], where: str
) -> None:
    if where == "proc":
        db = Path("/proc/hrm-bot-test/db.sqlite3")
    elif where == "file":
        (tmp_path / "a-file").write_text("not a folder")
        db = tmp_path / "a-file" / "db.sqlite3"
    else:
        db = tmp_path / "notes.txt"
        db.write_text("not a database, " * 1000)
    proc = _hrm(
        command,
        tmp_path,
        SITE_URL=wp.url,
        DATABASE_PATH=str(db),
        TELEGRAM_BOT_TOKEN="123456:TEST-token",
        TELEGRAM_API_URL=f"http://127.0.0.1:{_closed_port()}",
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert str(db.parent) in proc.stderr or str(db) in proc.stderr
    if where == "garbage":
        assert "file is not a database" in proc.stderr
        assert db.read_text() == "not a database, " * 1000


def test_env_example_is_read_cleanly() -> None:
    heard: list[str] = []
    example = Path(__file__).parent.parent / ".env.example"
    s = load_settings({}, dotenv=example, warn=heard.append)
    assert heard == []
    # Every setting is in the example, and its values are the defaults.
    assert {k for k in config.KNOWN if f"\n{k}=" not in "\n" + example.read_text()} == set()
    assert s == Settings()


def test_status_shows_skipped_feed_items(env: Path, wp: FakeWordPress) -> None:
    wp.rest_mode = "404"
    wp.raw("/feed/", (Path(__file__).parent / "data/feeds/no-link-or-guid.xml").read_bytes())
    wp.raw("/feed/?paged=2", b"", status=404)
    code, out = run("ingest")
    assert code == 0 and "2 skipped (no link or guid)" in out
    code, out = run("status")
    assert code == 0
    assert "unchanged, 2 skipped (no link or guid)" in out


def test_a_piped_search_stops_quietly(env: Path) -> None:
    assert run("ingest")[0] == 0
    # head reads one line and closes the pipe while search still writes.
    proc = subprocess.run(
        f"{sys.executable} -m bot search --limit 20 prison | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert len(proc.stdout.splitlines()) == 1
    assert proc.stderr == ""


def test_a_folder_as_database_path_is_one_line(tmp_path: Path, wp: FakeWordPress) -> None:
    for command in (["ingest"], ["status"]):
        proc = _hrm(command, tmp_path, SITE_URL=wp.url, DATABASE_PATH=str(tmp_path))
        assert proc.returncode == 1
        assert (
            proc.stderr
            == f"hrm-bot: cannot open database {tmp_path}: it is a folder, not a file\n"
        )


def test_search_query_may_start_with_an_exclusion(env: Path) -> None:
    assert run("ingest")[0] == 0
    code, out = run("search", "-Qarchak", "prison")
    assert code == 0 and out and "Qarchak" not in out
    code, limited = run("search", "--limit", "1", "-Qarchak", "prison")
    assert code == 0 and limited.count("https://") == 1 and "Qarchak" not in limited


def test_search_says_which_filters_it_did_not_understand(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("ingest")[0] == 0
    run("search", "prison", "since:2025-13")
    assert capsys.readouterr().err == "hrm-bot: not understood, searched as words: since:2025-13\n"
