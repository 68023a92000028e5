"""The settings walk itself (kiosk.config.tables), on small tables of its own: where each kind
of problem is found, that every problem is collected, and what a built table allows."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import pytest

from kiosk.config import setting_description, values
from kiosk.config.tables import (
    BAD_KEY,
    BAD_TAG,
    BAD_VALUE,
    MISSING,
    NO_VALUE,
    NOT_A_TABLE,
    NOT_AN_ARRAY,
    UNKNOWN_KEY,
    Check,
    InvalidSettings,
    Problem,
    SettingsTable,
    Tagged,
    field_names,
    holds_tables,
)


class Lid(SettingsTable):
    """A lid."""

    colour: Annotated[str, Check(values.one_of("red", "blue"))] = "red"
    """The lid's colour."""


class Box(SettingsTable):
    """A box with a lid."""

    size: Annotated[int, Check(values.whole_number(1, 9))]
    """How big the box is. Required."""

    lid: Lid = dataclasses.field(default_factory=Lid)
    """The lid on top."""


class Crate(SettingsTable):
    """A crate: its label, a box (one of two kinds), more boxes, tags and boxes by name."""

    label: Annotated[str, Check(values.text(8, empty_allowed=False))]
    """The label."""

    tags: Annotated[
        tuple[Annotated[str, Check(values.one_of("a", "b"))], ...],
        Check(values.at_least_one("expected at least one tag")),
    ] = ("a",)
    """Tags."""

    boxes: tuple[Box, ...] = ()
    """More boxes."""

    named: dict[Annotated[str, Check(values.tax_class_code)], Box] = dataclasses.field(
        default_factory=dict
    )
    """Boxes by name."""

    where: Annotated[Path, Check(values.absolute_path)] = Path("/srv")
    """Where the crate stands."""

    weight: Annotated[Decimal, Check(values.decimal_number(Decimal(0)))] = Decimal("1.5")
    """Its weight."""

    @classmethod
    def _prepare(cls, given: dict[str, Any]) -> dict[str, Any]:
        if given.get("label") == "auto":
            return {**given, "label": "crate"}
        return given

    def _consistent(self) -> None:
        if len(self.boxes) > 2:
            raise values.bad_key(("boxes", 2), "at most two boxes", len(self.boxes))


class SmallCart(SettingsTable):
    """One kind of cart."""

    kind: str = "small"
    """Selects the small cart."""

    wheels: Annotated[int, Check(values.whole_number(3, 4))] = 4
    """Wheels."""


class BigCart(SettingsTable):
    """Another kind of cart."""

    kind: str = "big"
    """Selects the big cart."""

    axles: Annotated[int, Check(values.whole_number(2, 6))]
    """Axles. Required."""


CARTS = {"small": SmallCart, "big": BigCart}


class Yard(SettingsTable):
    """A yard with a crate and a cart of either kind."""

    crate: Crate
    """The crate. Required."""

    cart: Annotated[SmallCart | BigCart, Tagged("kind", CARTS, default="small")] = (
        dataclasses.field(default_factory=SmallCart)
    )
    """The cart; its keys depend on ``kind``."""


def problems_of(data: dict[str, Any], table: type[SettingsTable] = Yard) -> list[Problem]:
    """The problems the walk finds in ``data``."""
    with pytest.raises(InvalidSettings) as refused:
        table.from_mapping(data)
    return list(refused.value.problems)


def where(problems: list[Problem]) -> list[tuple[str, tuple[str | int, ...]]]:
    """Each problem's kind and location."""
    return [(problem.kind, problem.at) for problem in problems]


def test_a_good_mapping_becomes_typed_tables_with_defaults() -> None:
    yard = Yard.from_mapping(
        {"crate": {"label": "c1", "boxes": [{"size": 2}], "where": "/tmp", "weight": "2.25"}}
    )

    assert yard.crate.boxes == (Box(size=2),)
    assert yard.crate.boxes[0].lid == Lid(colour="red")
    assert yard.crate.where == Path("/tmp")
    assert yard.crate.weight == Decimal("2.25")
    assert yard.crate.tags == ("a",)
    assert yard.cart == SmallCart()


def test_an_unknown_key_is_named_with_the_table_that_does_not_know_it() -> None:
    (problem,) = problems_of({"crate": {"label": "c", "colour": "red"}})

    assert (problem.kind, problem.at, problem.table) == (UNKNOWN_KEY, ("crate", "colour"), Crate)
    assert problem.value is NO_VALUE


def test_a_missing_key_is_named() -> None:
    assert where(problems_of({})) == [(MISSING, ("crate",))]
    (problem,) = problems_of({"crate": {}})
    assert (problem.kind, problem.at, problem.table) == (MISSING, ("crate", "label"), Crate)


def test_a_bad_value_in_a_nested_table_has_its_whole_location_and_value() -> None:
    (problem,) = problems_of({"crate": {"label": "c", "named": {"x": {"size": 3, "lid": {
        "colour": "green"}}}}})

    assert problem.kind == BAD_VALUE
    assert problem.at == ("crate", "named", "x", "lid", "colour")
    assert problem.value == "green"
    assert problem.detail == 'expected one of "red", "blue"'


def test_items_of_arrays_are_located_by_their_index() -> None:
    problems = problems_of(
        {"crate": {"label": "c", "tags": ["a", "z"], "boxes": [{"size": 1}, {"size": 0}]}}
    )

    assert where(problems) == [
        (BAD_VALUE, ("crate", "tags", 1)),
        (BAD_VALUE, ("crate", "boxes", 1, "size")),
    ]
    assert [problem.value for problem in problems] == ["z", 0]


def test_a_check_on_an_array_runs_on_the_checked_items() -> None:
    (problem,) = problems_of({"crate": {"label": "c", "tags": []}})

    assert (problem.kind, problem.at, problem.value) == (BAD_VALUE, ("crate", "tags"), ())
    assert problem.detail == "expected at least one tag"


def test_a_bad_key_of_a_keyed_table_is_located_at_itself_and_its_value_hidden() -> None:
    (problem,) = problems_of({"crate": {"label": "c", "named": {"Big-One": {"size": 1}}}})

    assert (problem.kind, problem.at) == (BAD_VALUE, ("crate", "named", "Big-One"))
    assert problem.hide_value


def test_the_tag_picks_the_table_and_defaults_when_left_out() -> None:
    crate = {"label": "c"}

    assert Yard.from_mapping({"crate": crate, "cart": {"kind": "big", "axles": 3}}).cart == (
        BigCart(axles=3)
    )
    assert Yard.from_mapping({"crate": crate, "cart": {"wheels": 3}}).cart == SmallCart(wheels=3)
    (missing,) = problems_of({"crate": crate, "cart": {"kind": "big"}})
    assert (missing.kind, missing.at, missing.table) == (MISSING, ("cart", "axles"), BigCart)


def test_an_unknown_tag_lists_the_tags() -> None:
    for tag in ("huge", 7, ["big"]):
        (problem,) = problems_of({"crate": {"label": "c"}, "cart": {"kind": tag}})

        assert (problem.kind, problem.at, problem.value) == (BAD_TAG, ("cart", "kind"), tag)
        assert problem.choices == ("small", "big")


def test_a_value_where_a_table_or_an_array_belongs_is_refused() -> None:
    problems = problems_of({"crate": {"label": "c", "boxes": "three", "named": []}, "cart": 5})

    assert where(problems) == [
        (NOT_AN_ARRAY, ("crate", "boxes")),
        (NOT_A_TABLE, ("crate", "named")),
        (NOT_A_TABLE, ("cart",)),
    ]
    assert where(problems_of({"crate": {"label": "c", "boxes": [1]}})) == [
        (NOT_A_TABLE, ("crate", "boxes", 0))
    ]


def test_every_problem_is_collected_in_field_order_unknown_keys_last() -> None:
    problems = problems_of({
        "extra": 1,
        "cart": {"kind": "big", "axles": 9, "wheels": 4},
        "crate": {"oops": True, "label": "", "tags": ["q"], "boxes": [{}]},
    })

    assert where(problems) == [
        (BAD_VALUE, ("crate", "label")),
        (BAD_VALUE, ("crate", "tags", 0)),
        (MISSING, ("crate", "boxes", 0, "size")),
        (UNKNOWN_KEY, ("crate", "oops")),
        (BAD_VALUE, ("cart", "axles")),
        (UNKNOWN_KEY, ("cart", "wheels")),
        (UNKNOWN_KEY, ("extra",)),
    ]


def test_a_table_check_runs_after_its_keys_passed_and_points_below_the_table() -> None:
    boxes = [{"size": 1}, {"size": 2}, {"size": 3}]
    (problem,) = problems_of({"crate": {"label": "c", "boxes": boxes}})

    assert (problem.kind, problem.at, problem.value) == (BAD_KEY, ("crate", "boxes", 2), 3)
    assert problem.detail == "at most two boxes"
    # with a bad key in the same table, the table check does not run
    boxes[0]["size"] = 0
    assert where(problems_of({"crate": {"label": "c", "boxes": boxes}})) == [
        (BAD_VALUE, ("crate", "boxes", 0, "size"))
    ]


def test_prepare_fills_in_before_the_checks() -> None:
    assert Yard.from_mapping({"crate": {"label": "auto"}}).crate.label == "crate"


def test_tables_are_frozen_comparable_and_hashable() -> None:
    box = Box(size=3)

    with pytest.raises(dataclasses.FrozenInstanceError):
        box.size = 4  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del box.size  # type: ignore[misc]
    assert box == Box(size=3) and box != Box(size=4)
    assert hash(box) == hash(Box(size=3))
    assert repr(box) == "Box(size=3, lid=Lid(colour='red'))"
    assert field_names(Box) == ("size", "lid")
    assert dataclasses.is_dataclass(box)
    assert holds_tables(Box, "lid") and not holds_tables(Box, "size")


def test_building_a_table_directly_checks_the_values_given() -> None:
    assert Crate(label="c", where="/var").where == Path("/var")  # type: ignore[arg-type]
    with pytest.raises(InvalidSettings) as refused:
        Box(size=10, colour="red")  # type: ignore[call-arg]

    assert where(list(refused.value.problems)) == [
        (BAD_VALUE, ("size",)),
        (UNKNOWN_KEY, ("colour",)),
    ]
    assert isinstance(refused.value, ValueError)
    with pytest.raises(InvalidSettings):
        Box()  # type: ignore[call-arg]


def test_replace_checks_the_new_values_and_keeps_the_others() -> None:
    crate = Crate(label="c", boxes=(Box(size=1),))

    bigger = dataclasses.replace(crate, weight=Decimal(3), where=Path("/opt"))
    assert (bigger.weight, bigger.where, bigger.boxes) == (Decimal(3), Path("/opt"), crate.boxes)
    with pytest.raises(InvalidSettings) as refused:
        dataclasses.replace(crate, boxes=(Box(size=1),) * 3)
    assert where(list(refused.value.problems)) == [(BAD_KEY, ("boxes", 2))]
    with pytest.raises(InvalidSettings):
        dataclasses.replace(crate, label="")


def test_unchecked_builds_a_table_no_file_could_hold() -> None:
    odd = Box.unchecked(size=100)

    assert (odd.size, odd.lid) == (100, Lid())
    with pytest.raises(TypeError):
        Box.unchecked(lid=Lid())


def test_as_mapping_is_json_safe_and_reads_back() -> None:
    yard = Yard.from_mapping({"crate": {"label": "c", "named": {"x": {"size": 1}}}})

    plain = yard.as_mapping()
    assert plain["crate"]["where"] == "/srv"
    assert plain["crate"]["weight"] == "1.5"
    assert plain["crate"]["tags"] == ["a"]
    assert plain["cart"] == {"kind": "small", "wheels": 4}
    assert Yard.from_mapping(json.loads(json.dumps(plain))) == yard


def test_the_docstring_under_a_field_is_its_description() -> None:
    assert setting_description(Box, "size") == "How big the box is. Required."
    assert setting_description(BigCart, "axles") == "Axles. Required."
    assert setting_description(Box, "colour") == ""


def test_the_summary_of_a_problem_never_shows_its_value() -> None:
    with pytest.raises(InvalidSettings) as refused:
        Crate.from_mapping({"label": "sk_live_CANARY_123"})

    assert "CANARY" not in str(refused.value)
    expected = "expected a non-empty text of at most 8 characters"
    assert str(refused.value) == f"Crate: label: bad value: {expected}"
