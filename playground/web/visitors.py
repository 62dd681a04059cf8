"""Who a request comes from, with no Gradio in it: the browser's secret (whose saved runs a session sees) and
the client address (whose trainings count together under the per-visitor cap)."""
from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets


def new_browser_secret() -> str:
    return secrets.token_urlsafe(32)


def valid_browser_secret(secret) -> bool:
    """A secret this app made (43 URL-safe characters): a short or made-up one would be guessable."""
    return isinstance(secret, str) and re.fullmatch(r"[A-Za-z0-9_-]{43}", secret) is not None


def owner_of(secret: str) -> str:
    """The folder name of a browser's saved runs: a hash, so the secret itself is never on disk."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()[:32]


def client_address(forwarded_for: str | None, peer: str | None, use_forwarded: bool = True) -> str:
    """Who a request comes from, for the per-visitor cap. Behind a proxy (Hugging Face Spaces) every request
    comes from the proxy, and the client's address is in X-Forwarded-For, where each proxy appends the address
    it saw; a client can put anything in front of those. So the rightmost public address is taken: the one the
    outermost proxy saw; without one, the socket's peer. GAN_CLIENT_ADDRESS=peer (use_forwarded False) ignores
    the header."""
    if use_forwarded:
        for entry in reversed((forwarded_for or "").split(",")):
            try:
                address = ipaddress.ip_address(entry.strip())
            except ValueError:
                continue
            if address.is_global:
                return str(address)
    return peer or "unknown"
