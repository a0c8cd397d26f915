"""Who an action is recorded against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Person(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def display_name(self) -> str: ...


@dataclass(frozen=True)
class Actor:
    """Who an action is recorded against in the activity log: a user, or the system itself."""

    user_id: int | None
    name: str

    @classmethod
    def of(cls, user: Person) -> Actor:
        return cls(user.id, user.display_name)


SYSTEM = Actor(None, "System")
