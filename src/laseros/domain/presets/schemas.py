from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from laseros.domain.kernel.fields import MAX_TEXT, FieldReader
from laseros.domain.presets.models import Gas


@dataclass(frozen=True)
class PresetInput:
    name: str
    material_type: str
    thickness_mm: Decimal
    power_w: int | None
    speed_mm_min: int | None
    frequency_hz: int | None
    gas: str
    pressure_bar: Decimal | None
    nozzle_mm: Decimal | None
    focus_mm: Decimal | None
    pierce_time_s: Decimal | None
    is_active: bool
    notes: str

    @classmethod
    def parse(cls, raw: Mapping[str, str], *, materials: Sequence[str]) -> PresetInput:
        read = FieldReader(raw)
        data = cls(
            name=read.text("name", required=True),
            material_type=read.choice("material_type", materials, required=True),
            thickness_mm=read.thickness("thickness_mm", required=True) or Decimal(0),
            power_w=read.integer("power_w", maximum=100_000),
            speed_mm_min=read.integer("speed_mm_min", maximum=1_000_000),
            frequency_hz=read.integer("frequency_hz", maximum=1_000_000),
            gas=read.choice("gas", [g.value for g in Gas]),
            pressure_bar=read.decimal("pressure_bar", maximum=Decimal(100)),
            nozzle_mm=read.decimal("nozzle_mm", maximum=Decimal(20)),
            focus_mm=read.decimal("focus_mm", minimum=Decimal(-50), maximum=Decimal(50)),
            pierce_time_s=read.decimal("pierce_time_s", maximum=Decimal(600)),
            is_active=read.flag("is_active"),
            notes=read.text("notes", max_length=MAX_TEXT),
        )
        read.finish()
        return data

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
