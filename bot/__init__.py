"""hrm-bot: Telegram alerts and archive search for Iran Human Rights Monitor reports."""

__version__ = "0.1.0"
