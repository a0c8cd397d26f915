from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from laseros.domain.kernel.fields import MAX_TEXT, FieldReader


@dataclass(frozen=True)
class ClientInput:
    name: str
    contact_person: str
    email: str
    phone: str
    address: str
    notes: str
    vat_number: str = ""

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> ClientInput:
        read = FieldReader(raw)
        data = cls(
            name=read.text("name", required=True),
            contact_person=read.text("contact_person"),
            email=read.email("email"),
            phone=read.text("phone", max_length=50),
            address=read.text("address", max_length=MAX_TEXT),
            notes=read.text("notes", max_length=MAX_TEXT),
            vat_number=read.text("vat_number", max_length=30),
        )
        read.finish()
        return data

    def as_dict(self) -> dict[str, str]:
        return asdict(self)
