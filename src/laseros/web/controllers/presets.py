"""Machine presets: the library of cutting parameters, read by the office, changed by an admin."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from laseros.domain.admin.roles import Permission
from laseros.domain.kernel.errors import InvalidInput
from laseros.domain.kernel.registry import MATERIALS
from laseros.domain.kernel.shop import parse_thickness, thickness_label
from laseros.domain.presets.models import Gas, Preset
from laseros.domain.presets.schemas import PresetInput
from laseros.domain.presets.services import PresetFilters
from laseros.web.deps import Db, JobPresetChanges, PageSize, Presets, ShopSettings
from laseros.web.export import csv_export
from laseros.web.forms import FormState, form_values
from laseros.web.guards import requires, unsafe_methods_require
from laseros.web.htmx import Page, redirect, render


def _filters(material_type: str, thickness_mm: str, active: str) -> PresetFilters:
    return PresetFilters(
        material_type=material_type[:100],
        thickness_mm=parse_thickness(thickness_mm) if thickness_mm else None,
        active=active if active in ("active", "inactive") else "",
    )


def _sheet(preset: Preset) -> str:
    return f"{thickness_label(preset.thickness_mm)} mm {preset.material_type}"


class PresetController(Controller):
    path = "/presets"
    guards = [requires(Permission.PC_VIEW), unsafe_methods_require(Permission.SETUP_EDIT)]

    @get("/")
    async def index(
        self,
        request: Request,
        page_size: PageSize,
        db: Db,
        presets: Presets,
        shop_settings: ShopSettings,
        material_type: FromQuery[str] = "",
        thickness_mm: FromQuery[str] = "",
        active: FromQuery[str] = "",
        page: FromQuery[int] = 1,
        format: FromQuery[str] = "",
    ) -> Page | Stream:
        filters = _filters(material_type, thickness_mm, active)
        if format == "csv":
            return csv_export(request, db, presets.export(filters))
        listing = await presets.list(filters, page=page, per_page=page_size)
        context = {"page": listing, "filters": filters, "materials": await shop_settings.choices(MATERIALS)}
        return await render(request, "presets/index.html", context, block="results")

    @get("/new", guards=[requires(Permission.SETUP_EDIT)])
    async def new_form(
        self,
        request: Request,
        shop_settings: ShopSettings,
        material_type: FromQuery[str] = "",
        thickness_mm: FromQuery[str] = "",
    ) -> Page:
        # A project page without a preset links here with its sheet, so the form starts on that sheet.
        materials = await shop_settings.choices(MATERIALS)
        thickness = parse_thickness(thickness_mm) if thickness_mm else None
        values = {
            "material_type": material_type if material_type in materials else (materials[0] if materials else ""),
            "thickness_mm": str(thickness) if thickness is not None else "",
            "is_active": True,
        }
        return await self._form(request, shop_settings, FormState(values), None)

    @post("/new")
    async def create(
        self, request: Request, job_presets: JobPresetChanges, shop_settings: ShopSettings
    ) -> Response[Any]:
        values = await form_values(request)
        try:
            data = PresetInput.parse(values, materials=await shop_settings.choices(MATERIALS))
        except InvalidInput as bad:
            return await self._form(request, shop_settings, FormState(values, bad.errors), None, 422)
        preset = await job_presets.create(data)
        state = "active" if preset.is_active else "inactive"
        return redirect(request, f"/presets/{preset.id}", f"Preset {preset.name} created ({state}).")

    @get("/{preset_id:int}")
    async def detail(
        self, request: Request, preset_id: FromPath[int], presets: Presets, job_presets: JobPresetChanges
    ) -> Page:
        preset = await presets.get(preset_id)
        context = {"preset": preset, "project_count": await job_presets.project_count(preset_id)}
        return await render(request, "presets/detail.html", context)

    @get("/{preset_id:int}/edit", guards=[requires(Permission.SETUP_EDIT)])
    async def edit_form(
        self,
        request: Request,
        preset_id: FromPath[int],
        presets: Presets,
        shop_settings: ShopSettings,
    ) -> Page:
        preset = await presets.get(preset_id)
        values = {k: getattr(preset, k) for k in PresetInput.__dataclass_fields__}
        return await self._form(request, shop_settings, FormState(values), preset)

    @post("/{preset_id:int}/edit")
    async def update(
        self,
        request: Request,
        preset_id: FromPath[int],
        presets: Presets,
        job_presets: JobPresetChanges,
        shop_settings: ShopSettings,
    ) -> Response[Any]:
        values = await form_values(request)
        preset = await presets.get(preset_id)
        try:
            materials = await shop_settings.choices(MATERIALS, keep=preset.material_type)
            data = PresetInput.parse(values, materials=materials)
        except InvalidInput as bad:
            return await self._form(request, shop_settings, FormState(values, bad.errors), preset, 422)
        preset = await job_presets.update(preset_id, data)
        return redirect(request, f"/presets/{preset_id}", f"Preset {preset.name} saved.")

    @post("/{preset_id:int}/toggle")
    async def toggle(self, request: Request, preset_id: FromPath[int], job_presets: JobPresetChanges) -> Response[Any]:
        preset, replaced = await job_presets.toggle(preset_id)
        if not preset.is_active:
            message = f"Preset {preset.name} deactivated: open {_sheet(preset)} jobs now have no preset."
        elif replaced is not None:
            message = f"Preset {preset.name} is now active for {_sheet(preset)}; it replaced {replaced.name}."
        else:
            message = f"Preset {preset.name} is now active for {_sheet(preset)}."
        return redirect(request, f"/presets/{preset_id}", message)

    @staticmethod
    async def _form(
        request: Request,
        shop_settings: ShopSettings,
        form: FormState,
        preset: Preset | None,
        status_code: int = 200,
    ) -> Page:
        context = {
            "form": form,
            "preset": preset,
            "materials": await shop_settings.choices(MATERIALS, keep=preset.material_type if preset else None),
            "gases": [g.value for g in Gas],
        }
        return await render(request, "presets/form.html", context, status_code=status_code)
