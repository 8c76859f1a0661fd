"""The README's settings table, rendered from `app.settings.Settings` so the two cannot drift.

`make docs` rewrites the table between the README's `settings` markers;
`tests/test_settings.py` fails when the committed table differs from it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from app.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"
# Read by `python -m app` itself (as uvicorn reads it), not a `FORECAST_*` setting.
EXTRA_ROWS = ("| `WEB_CONCURRENCY` | `1` | Worker processes of `python -m app`. |",)


def _default(value: Any) -> str:
    if value is None or (isinstance(value, SecretStr) and not value.get_secret_value()):
        return "(none)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int) and value >= 1 << 20 and value % (1 << 20) == 0:
        return f"{value} ({value >> 20} MiB)"
    return str(value)


def render() -> str:
    """The markdown table: variable, default, the field's own description."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    prefix = Settings.model_config.get("env_prefix", "")
    for name, field in Settings.model_fields.items():
        variable = f"{prefix}{name}".upper()
        rows.append(f"| `{variable}` | `{_default(field.default)}` | {field.description} |")
    return "\n".join([*rows, *EXTRA_ROWS])


def section(text: str) -> str:
    """The table currently between the markers of `text`."""
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def main() -> int:
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"settings_doc: error: {README} has no {START} ... {END} markers", file=sys.stderr)
        return 2
    head, rest = text.split(START, 1)
    README.write_text(f"{head}{START}\n{render()}\n{END}{rest.split(END, 1)[1]}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
