from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from laseros.domain.admin.passwords import password_problem
from laseros.domain.kernel.fields import MAX_TEXT, FieldReader


@dataclass(frozen=True)
class OperatorLoginInput:
    """An operator who logs in on the phone. The password is required only for a new login."""

    username: str
    display_name: str
    password: str

    @classmethod
    def parse(cls, raw: Mapping[str, str], *, creating: bool) -> OperatorLoginInput:
        read = FieldReader(raw)
        data = cls(
            username=read.text("username", required=creating, max_length=80),
            display_name=read.text("display_name", required=True, max_length=120),
            password=str(raw.get("password") or ""),
        )
        if creating or data.password:
            problem = password_problem(data.password, data.username)
            if problem:
                read.errors["password"] = problem
        read.finish()
        return data


@dataclass(frozen=True)
class ExtraOperatorInput:
    display_name: str
    notes: str

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> ExtraOperatorInput:
        read = FieldReader(raw)
        data = cls(
            display_name=read.text("display_name", required=True, max_length=120),
            notes=read.text("notes", max_length=MAX_TEXT),
        )
        read.finish()
        return data
