"""The password rule, the same for every way a password is set (the CLI, the operator form, the admin pages).

At least 10 characters, not one of the 10 000 most common passwords (zxcvbn's list, which is
ranked by how often each appears in leaked password sets), and not the username.
"""

from __future__ import annotations

from functools import cache

from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 10
MAX_LENGTH = 200  # argon2 hashes any length; this only keeps a request from sending megabytes
COMMON_COUNT = 10_000


@cache
def _common() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"][:COMMON_COUNT])


def password_problem(password: str, username: str = "") -> str | None:
    """Why ``password`` may not be used, or None when it may."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if username and password.casefold() == username.strip().casefold():
        return "The password cannot be the username."
    if password.casefold() in _common():
        return "That is one of the most common passwords; choose one that is not easy to guess."
    return None
