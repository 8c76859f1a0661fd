"""Field types every protocol validates requests against: finite values, horizons, levels.

v1's JSON bodies use them as pydantic annotations, and V2 validates its
parameters and tensor data with the same types, so a value, a horizon or a
level means the same thing, and is refused for the same reason, whichever
protocol carries it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from app.contract.intervals import Level as IntervalLevel

Value = Annotated[float, Field(strict=True, allow_inf_nan=False)]


def _whole_number(value: Any) -> Any:
    """`3.0` as `3`: JSON Schema's `integer` (what OpenAPI documents) includes it, and some
    clients write every number with a decimal point. Fractions, strings and booleans stay
    refused by the strict check."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Horizon = Annotated[
    int,
    Field(strict=True, ge=1, description="Steps to forecast; beyond 1, forecasts are fed back."),
    BeforeValidator(_whole_number),  # after Field, or the schema says `ge` for `minimum`
]


Level = Annotated[
    IntervalLevel,  # the range, from the contract: strictly between 0 and 100
    Field(strict=True, description="Percent: 80 holds the truth 80 % of the time."),
    BeforeValidator(lambda v: float(v) if isinstance(v, int) and not isinstance(v, bool) else v),
]

Period = Annotated[
    str,
    Field(
        min_length=4,
        max_length=10,
        pattern=r"^\d{4}(-Q[1-4]|-\d{2}(-\d{2})?)?$",
        description="An ISO period: `2019`, `2019-Q3`, `2019-07` or `2019-07-31`.",
        examples=["2019-07"],
    ),
]
"""When a posted series starts, in the form a version stores periods (`app.contract.calendar`)."""
