"""The callback context handlers get: typed access to the running bot's services."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.services import Services
from storage import Store

BotT = ExtBot[dict[str, Any]]


class BotContext(CallbackContext[BotT, dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    SERVICES = "services"

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
