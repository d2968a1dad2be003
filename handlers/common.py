"""What every handler needs: the reply, the chat's language, group rights."""

from __future__ import annotations

import logging

from telegram import Chat, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest

from bot.context import BotContext
from bot.delivery.render import e, split_message
from bot.i18n import texts

log = logging.getLogger(__name__)

Gettext = texts.Translator
MANAGERS = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)


def detect(code: str | None) -> str:
    """A chat's first language: Persian for a Telegram app set to Persian (fa, fa-IR, FA),
    English for everything else."""
    return "fa" if code and code.replace("_", "-").split("-")[0].strip().lower() == "fa" else "en"


def user_language(update: Update) -> str:
    """The language of the user's Telegram app, as one of ours."""
    user = update.effective_user
    return detect(user.language_code if user else None)


async def language(update: Update, context: BotContext) -> str:
    """The chat's language: the one stored (chosen with /language, or guessed when the chat
    was first stored), else the user's app language."""
    chat = update.effective_chat
    stored = await context.store.chat_language(chat.id) if chat is not None else None
    # detect() also folds what older versions stored (the raw language code, "fa-IR").
    return detect(stored) if stored else user_language(update)


async def gettext(update: Update, context: BotContext) -> Gettext:
    return texts.tr(await language(update, context))


def command_text(update: Update) -> str:
    """What follows the command, spacing and quotes as typed."""
    message = update.effective_message
    text = message.text if message is not None and message.text else ""
    parts = text.split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


async def reply(
    update: Update,
    context: BotContext,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> Message | None:
    chat = update.effective_chat
    if chat is None:
        return None
    message = None
    pieces = split_message(text)
    for i, piece in enumerate(pieces):
        message = await context.bot.send_message(
            chat.id, piece, reply_markup=markup if i == len(pieces) - 1 else None
        )
    return message


async def can_manage(update: Update, context: BotContext) -> bool:
    """In groups only administrators change settings; in private chats the user does."""
    chat = update.effective_chat
    if chat is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    message = update.effective_message
    if message is not None and message.sender_chat is not None:
        # An anonymous administrator writes as the group itself.
        return message.sender_chat.id == chat.id
    user = update.effective_user
    if user is None:
        return False
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in MANAGERS


async def refuse_non_admin(update: Update, context: BotContext) -> bool:
    """Reply with a refusal and return True when the sender may not change this chat."""
    if await can_manage(update, context):
        return False
    _ = await gettext(update, context)
    if update.callback_query is not None:
        await update.callback_query.answer(_(texts.GROUP_ADMINS_ONLY), show_alert=True)
    else:
        await reply(update, context, e(_(texts.GROUP_ADMINS_ONLY)))
    return True


def chat_language(update: Update) -> str:
    """The first guess of a new chat's language (a stored choice is never overwritten)."""
    return user_language(update)


def chat_type(chat: Chat) -> str:
    return str(chat.type)


def is_not_modified(exc: BadRequest) -> bool:
    return "not modified" in exc.message.lower()
