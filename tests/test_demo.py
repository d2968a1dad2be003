"""`make demo`, the smoke test of the whole bot: the real bot against the fakes, as a chat."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests import demo

REPO = Path(__file__).resolve().parent.parent


def test_demo_shows_the_whole_conversation_and_exits_zero() -> None:
    # As `make demo` runs it: the venv's python, from the clone's root.
    proc = subprocess.run(
        [sys.executable, "-m", "tests.demo"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    printed = proc.stdout + proc.stderr
    assert proc.returncode == 0, printed
    assert "Traceback" not in printed
    assert demo.DEMO_TOKEN.split(":", 1)[1] not in printed
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()

    def line_from(start: int, text: str) -> int:
        """The index of the first line from ``start`` on that starts with ``text``."""
        found = [i for i in range(start, len(lines)) if lines[i].startswith(text)]
        assert found, f"no line starting with {text!r} after line {start}:\n{proc.stdout}"
        return found[0]

    start = line_from(0, "you: /start")
    subscribe = line_from(start, "you: /subscribe executions")
    assert lines[start + 2].startswith("bot: This bot brings you the reports")
    assert start < line_from(start, "     [ All reports ]") < subscribe
    assert lines[subscribe + 2] == "bot: Now following: Executions."
    alert = line_from(subscribe, f"bot: {demo.NEW_REPORT_TITLE}")
    search = line_from(alert, "you: /search Evin")
    assert lines[alert + 1].endswith(" · #Executions")
    assert alert < line_from(alert, "     Read the full report") < search
    assert lines[search + 2] == "bot: Reports 1–1 for: Evin"
    answer = " ".join(line.strip() for line in lines[search + 2 :])
    assert "Judiciary Denies Medical Furlough to Ailing Political Prisoner in Evin" in answer
    assert lines[-1] == "-- The bot has stopped. That was the whole demo."


def test_a_bot_that_dies_is_one_clear_line_after_its_output() -> None:
    out, err = io.StringIO(), io.StringIO()
    crash = "import sys; print('the bot cannot start'); sys.exit(3)"
    assert demo.run([sys.executable, "-c", crash], out=out, err=err) == 1
    assert "the bot cannot start" in err.getvalue()
    last = err.getvalue().splitlines()[-1]
    assert (
        last == "demo failed: the bot exited with code 3 before the bot's first poll of the site"
    )


def test_a_bot_that_never_answers_is_stopped_and_its_folder_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "STEP_TIMEOUT", 0.5)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    out, err = io.StringIO(), io.StringIO()
    silent = "import os, time; print('pid', os.getpid(), flush=True); time.sleep(60)"
    assert demo.run([sys.executable, "-c", silent], out=out, err=err) == 1
    last = err.getvalue().splitlines()[-1]
    assert last == "demo failed: the bot's first poll of the site did not happen within 0.5 s"
    pid = int(err.getvalue().split("pid ", 1)[1].split()[0])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert list(tmp_path.iterdir()) == []
