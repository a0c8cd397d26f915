"""Unit tests for the rules that live in one place: thicknesses, calendar, stages, roles, input parsing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from laseros.domain.admin.roles import PERMISSIONS, Permission, Role, pc_mode_refusal, role_can
from laseros.domain.kernel.errors import InvalidInput
from laseros.domain.kernel.fields import FieldReader
from laseros.domain.kernel.shop import THICKNESSES_MM, ShopCalendar, parse_thickness, thickness_label
from laseros.domain.projects.stages import (
    QUEUE_STATUS_TO_STAGE,
    QUEUE_TRANSITIONS,
    STAGE_TO_QUEUE_STATUS,
    TRANSITIONS,
    QueueStatus,
    Stage,
    transition_table_markdown,
)

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_thickness_list_is_the_spec_list():
    assert [float(t) for t in THICKNESSES_MM] == [
        0.47,
        0.53,
        1.0,
        1.2,
        2.0,
        2.5,
        3.0,
        3.5,
        4.0,
        5.0,
        6.0,
        8.0,
        10.0,
        12.0,
        16.0,
    ]


@pytest.mark.parametrize(("raw", "expected"), [("3", "3.00"), ("3.0", "3.00"), (" 0.47 ", "0.47"), ("16.00", "16.00")])
def test_thickness_accepts_any_spelling_of_a_listed_value(raw, expected):
    assert parse_thickness(raw) == Decimal(expected)


@pytest.mark.parametrize("raw", ["7", "0.5", "-3", "abc", "", "3e0x", "NaN", "Infinity"])
def test_thickness_refuses_values_not_in_the_list(raw):
    assert parse_thickness(raw) is None


def test_thickness_labels():
    assert [thickness_label(Decimal(v)) for v in ("0.47", "3.00", "16.00", "2.50")] == ["0.47", "3.0", "16.0", "2.5"]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 23), date(2026, 11, 24)),  # Monday → Tuesday
        (date(2026, 11, 27), date(2026, 11, 30)),  # Friday → Monday
        (date(2026, 11, 28), date(2026, 11, 30)),  # Saturday → Monday
        (date(2026, 11, 29), date(2026, 11, 30)),  # Sunday → Monday
    ],
)
def test_next_business_day(day, expected):
    assert ShopCalendar.next_business_day(day) == expected


def test_every_stage_has_an_entry_in_the_transition_table():
    assert set(TRANSITIONS) == set(Stage)
    for source, targets in TRANSITIONS.items():
        assert source not in targets
        assert len(set(targets)) == len(targets)


def test_queue_mapping_is_one_to_one_and_covers_every_status():
    assert set(QUEUE_STATUS_TO_STAGE) == set(QueueStatus) == set(QUEUE_TRANSITIONS)
    assert {STAGE_TO_QUEUE_STATUS[stage]: stage for stage in STAGE_TO_QUEUE_STATUS} == QUEUE_STATUS_TO_STAGE


def test_docs_show_the_transition_table_from_the_code():
    assert transition_table_markdown() in (DOCS / "project_stages.md").read_text()


def test_docs_show_the_alert_table_from_the_code():
    from laseros.domain.notifications.rules import alert_table_markdown

    assert alert_table_markdown() in (DOCS / "project_stages_and_alerts.md").read_text()


def test_role_matrix_matches_the_spec():
    assert role_can(Role.ADMIN, Permission.OFFICE_EDIT) and role_can(Role.MANAGER, Permission.OFFICE_EDIT)
    assert not role_can(Role.VIEWER, Permission.OFFICE_EDIT)
    assert not role_can(Role.OPERATOR, Permission.PC_VIEW)
    assert role_can(Role.OPERATOR, Permission.PHONE_USE)
    assert PERMISSIONS[Permission.USERS_MANAGE] == {Role.ADMIN}
    assert pc_mode_refusal("operator") and pc_mode_refusal("viewer") is None


def test_field_reader_collects_every_error_at_once():
    read = FieldReader({"a": "", "b": "-1", "c": "2026-13-01", "d": "x" * 300})
    read.text("a", required=True)
    read.integer("b")
    read.date("c")
    read.text("d")
    with pytest.raises(InvalidInput) as refused:
        read.finish()
    assert set(refused.value.errors) == {"a", "b", "c", "d"}


def test_money_parsing():
    read = FieldReader({"a": "R 1,500.50", "b": "12", "c": "1e3"})
    assert read.money("a") == Decimal("1500.50")
    assert read.money("b") == Decimal("12.00")
    assert not read.errors
    # Nobody types an amount as 1e3: the one number parser (fields.parse_number) refuses it.
    assert read.money("c") is None and "c" in read.errors
