"""The README's settings table is the one `Settings` renders: a new or changed knob updates it."""

from __future__ import annotations

from app.settings import Settings
from scripts.settings_doc import README, render, section


def test_the_readme_table_is_rendered_from_settings() -> None:
    assert section(README.read_text(encoding="utf-8")) == render(), "run `make docs`"


def test_every_setting_has_a_row_with_its_description() -> None:
    table = render()
    for name, field in Settings.model_fields.items():
        assert f"`FORECAST_{name.upper()}`" in table and field.description
