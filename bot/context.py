"""The callback context handlers get: typed access to the running bot's services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.services import Services
from storage import Store

BotT = ExtBot[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Managed:
    """A channel a command from a private chat changes: ``/subscribe @channel executions``.
    Its administrator's rights were checked when it was named."""

    id: int
    title: str


class BotContext(CallbackContext[BotT, dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    SERVICES = "services"
    # Set for one update by handlers.channels.for_channels; None: the chat the update is in.
    managed: Managed | None = None
    # What follows the command and the channel named first (None: the message's own).
    command_rest: str | None = None

    @property
    def services(self) -> Services:
        services = self.bot_data.get(self.SERVICES)
        if not isinstance(services, Services):
            raise RuntimeError("services are not started (post_init has not run)")
        return services

    @property
    def store(self) -> Store:
        return self.services.store


BotApplication = Application[BotT, BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any]
