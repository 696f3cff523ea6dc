"""``copy_message`` returns what ``copy.deepcopy`` returns, for any message."""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from wsroute_django.memory_layer import copy_message


class Label(str):
    """A str subclass: deepcopy copies it (it is not atomic), so copy_message must too."""


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=5)
    | st.binary(max_size=3)
    | st.builds(Label, st.text(max_size=3))
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=3) | st.integers(0, 3), inner, max_size=4)
        | st.tuples(inner, inner)
        | st.builds(OrderedDict, st.dictionaries(st.text(max_size=2), inner, max_size=2))
    ),
    max_leaves=20,
)


def layout(value: Any, seen: dict[int, int] | None = None) -> Any:
    """``value``'s structure with each container numbered on first sight, so that two values
    with the same layout share (and repeat) their containers in the same places."""
    seen = {} if seen is None else seen
    if isinstance(value, dict | list | tuple):
        if id(value) in seen:
            return ("again", seen[id(value)])
        seen[id(value)] = len(seen)
        items = value.items() if isinstance(value, dict) else enumerate(value)
        return (type(value).__name__, [(layout(k, seen), layout(v, seen)) for k, v in items])
    return (type(value).__name__, repr(value))


def containers(value: Any, found: dict[int, Any] | None = None) -> dict[int, Any]:
    found = {} if found is None else found
    if isinstance(value, dict | list) and id(value) not in found:
        found[id(value)] = value
        for item in value.values() if isinstance(value, dict) else value:
            containers(item, found)
    elif isinstance(value, tuple):
        for item in value:
            containers(item, found)
    return found


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.text(max_size=4), values, max_size=5), st.data())
def test_copy_message_is_deepcopy(message: dict[str, Any], data: st.DataObject) -> None:
    # share some parts of the message between several places, as deepcopy must keep them shared
    parts = list(containers(message).values())
    if parts:
        for _ in range(data.draw(st.integers(0, 3))):
            message[f"alias-{len(message)}"] = data.draw(st.sampled_from(parts))
    expected = copy.deepcopy(message)
    got = copy_message(message)
    assert layout(got) == layout(expected)  # equal values, shared and cyclic in the same places
    assert not set(containers(got)) & set(containers(message)), "a mutable part is shared with the original"


def test_cycles_and_other_types() -> None:
    cyclic: dict[str, Any] = {"type": "m"}
    cyclic["self"] = cyclic
    cyclic["list"] = [cyclic, {1, 2}, frozenset({3})]
    got = copy_message(cyclic)
    assert got["self"] is got and got["list"][0] is got and got is not cyclic
    assert got["list"][1] == {1, 2} and got["list"][1] is not cyclic["list"][1]
    assert layout(got) == layout(copy.deepcopy(cyclic))


def test_a_dict_subclass_is_deepcopied() -> None:
    message = OrderedDict(type="m", inner=[1])
    got = copy_message(message)
    assert type(got) is OrderedDict and got == message and got["inner"] is not message["inner"]
