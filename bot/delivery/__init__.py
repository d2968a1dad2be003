"""Delivery: posts rendered as Telegram HTML, paced and sent from the outbox."""
