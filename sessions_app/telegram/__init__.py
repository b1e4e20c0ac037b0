"""The Telegram boundary: the only package that imports telethon."""
