"""How a message shows a value that came from outside: its repr, cut short, so a 50 MB setting or file name
never comes back as a 50 MB error."""
from __future__ import annotations

ECHO_CHARS = 80          # enough to recognise what was sent
MESSAGE_CHARS = 1000     # the last guard on any message shown to a user (playground.web.errors)


def shown(value, limit: int = ECHO_CHARS) -> str:
    """repr(value), cut to `limit` characters with '…' when longer."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def shortened(message: str, limit: int = MESSAGE_CHARS) -> str:
    """A whole message cut to `limit` characters (its end replaced by '…')."""
    message = str(message)
    return message if len(message) <= limit else message[:limit - 1] + "…"

