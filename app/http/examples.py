"""Example data the API documents: the last years of the milk series and what the model said.

OpenAPI shows these in `/docs`, and the V2 types reuse them, so both protocols
show the same numbers.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict


def _numbers(text: str) -> list[float]:
    return [float(v) for v in text.split()]


# Monthly milk production, pounds per cow, 1972-01 to 1975-12: the last four years of the series.
MILK = _numbers(
    "826 799 890 900 961 935 894 855 809 810 766 805 821 773 883 898 957 924 881 837 784 791 760"
    " 802 828 778 889 902 969 947 908 867 815 812 773 813 834 782 892 903 966 937 896 858 817 827"
    " 797 843"
)
# What the default model's one-step forecasts of the last 17 of those months look like.
EVALUATED = _numbers(
    "851.8 810.2 804.3 769.2 803.5 824.5 771.6 892.6 905.0 969.1 944.4 901.1 860.6 805.9 809.6"
    " 783.0 834.7"
)


def examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})
