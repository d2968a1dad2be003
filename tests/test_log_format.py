"""LOG_FORMAT=json: one JSON object a line, redacted as the text lines are."""

from __future__ import annotations

import json
import logging

import pytest

from bot import logs
from bot.config import load_settings
from bot.errors import ConfigError

TOKEN = "123456:AAHsecret-part_of_the_token"


def test_json_lines_hold_the_fields_and_never_the_token(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.configure("INFO", secrets=[TOKEN], json_lines=True)
    log = logging.getLogger("bot.test")
    log.info("calling https://api.telegram.org/bot%s/getMe", TOKEN)
    try:
        raise RuntimeError(f"bad token {TOKEN} «گزارش»")
    except RuntimeError:
        log.exception("it failed")
    lines = capsys.readouterr().err.strip().split("\n")
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert set(first) == {"time", "level", "logger", "message"}
    assert first["level"] == "INFO" and first["logger"] == "bot.test"
    assert first["message"] == "calling https://api.telegram.org/bot<token>/getMe"
    assert first["time"].endswith("+00:00")
    assert second["message"] == "it failed"
    assert "RuntimeError: bad token <token> «گزارش»" in second["exception"]
    assert "AAHsecret" not in "\n".join(lines)


@pytest.mark.parametrize(("value", "expected"), [("", "text"), ("JSON", "json"), ("text", "text")])
def test_log_format_setting(value: str, expected: str) -> None:
    assert load_settings({"LOG_FORMAT": value}, dotenv=None).log_format == expected


def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(ConfigError, match="LOG_FORMAT must be text or json"):
        load_settings({"LOG_FORMAT": "xml"}, dotenv=None)
