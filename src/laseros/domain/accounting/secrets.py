"""Credentials and tokens at rest: encrypted with a key derived from the app's secret key.

What is stored is a Fernet token (AES-128-CBC with an HMAC); without ``LASEROS_SECRET_KEY`` (or the
data folder's ``secret_key``) it cannot be read. A changed secret key makes the stored secret
unreadable: the connection then asks to be made again rather than failing later.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


class UnreadableSecret(Exception):
    """The stored secret was written with another secret key (or is damaged)."""


class SecretBox:
    def __init__(self, secret_key: str) -> None:
        digest = hashlib.sha256(b"laseros-sage-secrets:" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, values: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(values).encode()).decode()

    def open(self, token: str) -> dict[str, Any]:
        if not token:
            return {}
        try:
            values = json.loads(self._fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError) as unreadable:
            raise UnreadableSecret("the stored Sage secret cannot be read: was the secret key changed?") from unreadable
        return values if isinstance(values, dict) else {}


def state_hash(state: str) -> str:
    """How the OAuth state is kept: its SHA-256, so the stored value cannot be replayed."""
    return hashlib.sha256(state.encode()).hexdigest()
