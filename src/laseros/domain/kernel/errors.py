"""Errors the domain raises; the web layer maps each to one HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """Base for refusals a user can understand."""


class NotFound(DomainError):
    """The record does not exist (404)."""


class Conflict(DomainError):
    """The action is not allowed in the record's current state (409)."""


class PermissionDenied(DomainError):
    """The user's role does not allow this (403)."""


class InvalidInput(DomainError):
    """One message per bad field (422); nothing was written."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
