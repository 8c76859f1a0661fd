"""How the data plane's one answer is cut per input: each warning goes to the input it names,
renamed `inputs[i]: ...` (a lone query's `inputs: ...` too), the others to every input. The
cut over a real forecast is in test_routes.py; here, the rule on its own."""

from __future__ import annotations

from app.timeseries.plane import row_field, split_warnings

OUTSIDE = " 1 of the 3 values used lie outside 0 to 10"


def test_the_data_plane_names_a_lone_query_inputs_and_many_inputs_i() -> None:
    assert row_field(0, 1) == "inputs"
    assert [row_field(i, 3) for i in range(3)] == ["inputs[0]", "inputs[1]", "inputs[2]"]


def test_a_lone_querys_warning_is_renamed_inputs_0() -> None:
    shared, own = split_warnings([f"inputs:{OUTSIDE}"], 1)
    assert shared == [] and own == [[f"inputs[0]:{OUTSIDE}"]]


def test_each_warning_goes_to_the_input_it_names_the_rest_to_all() -> None:
    warnings = [
        "intervals: none, since the version has no calibrated intervals",
        f"inputs[10]:{OUTSIDE}",
        f"inputs[1]:{OUTSIDE}",
        f"inputs[1]: another{OUTSIDE}",
    ]
    shared, own = split_warnings(warnings, 11)
    assert shared == [warnings[0]]
    assert own[1] == warnings[2:] and own[10] == [warnings[1]]  # inputs[1] is no prefix of [10]
    assert all(own[i] == [] for i in range(11) if i not in (1, 10))


def test_a_warning_naming_no_input_of_this_request_is_shared() -> None:
    stray = [f"inputs[3]:{OUTSIDE}", "inputs[0]", f"values:{OUTSIDE}"]
    shared, own = split_warnings(stray, 2)
    assert shared == stray and own == [[], []]
