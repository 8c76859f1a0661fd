"""The series every protocol's documentation shows: the last years of the milk series.

v1's request examples and the V2 types' examples both quote it, so `/docs` shows
the same numbers whichever protocol a reader looks at.
"""

from __future__ import annotations


def numbers(text: str) -> list[float]:
    """Whitespace-separated numbers as floats: example data stays readable in source."""
    return [float(v) for v in text.split()]


# Monthly milk production, pounds per cow, 1972-01 to 1975-12: the last four years of the series.
MILK = numbers(
    "826 799 890 900 961 935 894 855 809 810 766 805 821 773 883 898 957 924 881 837 784 791 760"
    " 802 828 778 889 902 969 947 908 867 815 812 773 813 834 782 892 903 966 937 896 858 817 827"
    " 797 843"
)
