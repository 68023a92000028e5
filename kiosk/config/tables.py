"""The walk that checks parsed ``kiosk.toml`` data into frozen settings tables.

A table is a subclass of :class:`SettingsTable`, which makes it a frozen, keyword-only
dataclass. Its field annotations say what each key holds:

- a value: ``Annotated[int, Check(values.whole_number(1, 99))]``; each :class:`Check` is a
  function ``value -> value`` that raises :class:`BadValue`, run in order on the value as
  written (a ``Path`` field turns the checked text into a ``Path``);
- a nested table: another ``SettingsTable`` subclass;
- an array: ``tuple[X, ...]`` of values or tables (TOML arrays and arrays of tables);
- tables by key: ``dict[Annotated[str, Check(...)], Table]`` (the keys are checked too);
- one of several tables chosen by a key: ``Annotated[A | B, Tagged("transport", {...})]``.

A :class:`Check` on an array or a table runs after its items were checked (on the tuple).
A table may override :meth:`SettingsTable._prepare` (fill in a key from the others before the
checks) and :meth:`SettingsTable._consistent` (keys that depend on one another, after the
checks; it raises :class:`BadKey`). The walk collects every :class:`Problem` with its location
(table keys and array indexes) instead of stopping at the first, and raises them together as
:class:`InvalidSettings`. Keys not declared are refused. Building a table directly
(``RetentionSettings(audit_days=30)``, ``dataclasses.replace``) runs the same checks on the
values given; defaults are trusted. The annotations are resolved once per class, on first use.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path, PurePath
from typing import Annotated, Any, Final, Self, dataclass_transform

NO_VALUE: Final[Any] = object()
"""Stands for "no value": a problem about a key that was not given, a field without default."""

BAD_VALUE: Final = "bad value"
"""Problem kind: a :class:`Check` refused the value (``Problem.detail`` says what is expected)."""
BAD_KEY: Final = "bad key"
"""Problem kind: a table's ``_consistent`` refused one of its keys (``detail`` says why)."""
MISSING: Final = "missing"
"""Problem kind: a required key is not there."""
UNKNOWN_KEY: Final = "unknown key"
"""Problem kind: a key the table does not declare."""
BAD_TAG: Final = "bad tag"
"""Problem kind: the key choosing a table (``transport``) names none (``Problem.choices``)."""
NOT_A_TABLE: Final = "not a table"
"""Problem kind: a table was expected."""
NOT_AN_ARRAY: Final = "not an array"
"""Problem kind: an array was expected."""

_FAILED: Any = object()


class BadValue(ValueError):
    """Raised by a value check: the value is not what ``expected`` ("expected ...") describes.

    ``hide_value`` keeps the value out of messages (an address carrying a password, say).
    """

    def __init__(self, expected: str, *, hide_value: bool = False) -> None:
        super().__init__(expected)
        self.expected = expected
        self.hide_value = hide_value


class BadKey(ValueError):
    """Raised by a table's ``_consistent`` about its key ``at`` (relative to the table).

    ``value``, when given, is shown in the message next to the key.
    """

    def __init__(self, at: tuple[str | int, ...], problem: str, value: Any = NO_VALUE) -> None:
        super().__init__(problem)
        self.at = at
        self.problem = problem
        self.value = value


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, found by the walk.

    ``at`` is its location from the top table (keys, and indexes into arrays); ``table`` is
    the table class declaring (or not) the last key, for missing and unknown keys; ``value``
    is the input at fault (``NO_VALUE`` when there is none).
    """

    kind: str
    at: tuple[str | int, ...]
    value: Any = NO_VALUE
    detail: str = ""
    hide_value: bool = False
    table: type[SettingsTable] | None = None
    choices: tuple[str, ...] = ()

    def summary(self) -> str:
        """The location, the kind and the detail, never the value (it may be a secret)."""
        where = ".".join(str(part) for part in self.at) or "(the table)"
        return f"{where}: {self.kind}" + (f": {self.detail}" if self.detail else "")


class InvalidSettings(ValueError):
    """The input of ``table`` has the ``problems`` listed (every one found, in field order)."""

    def __init__(self, table: type, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        listed = "; ".join(problem.summary() for problem in self.problems)
        super().__init__(f"{table.__name__}: {listed}")


class Check:
    """Annotation marker: ``function`` checks (and may convert) the field's value."""

    __slots__ = ("function",)  # a plain class: a dataclass costs 1 ms at every start

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function


class Tagged:
    """Annotation marker on a union of tables: the value of key ``key`` picks the table from
    ``tables``; a table without that key gets ``default``."""

    __slots__ = ("default", "key", "tables")

    def __init__(self, key: str, tables: Mapping[str, type[SettingsTable]], default: str) -> None:
        self.key = key
        self.tables = tables
        self.default = default


@dataclass_transform(
    kw_only_default=True, frozen_default=True, field_specifiers=(dataclasses.field,)
)
class SettingsTable:
    """Base of every settings table: each subclass is a frozen, keyword-only dataclass whose
    values are checked (the docstring under each field is its description:
    :mod:`kiosk.config.descriptions`).

    ``dataclasses.dataclass`` would compile six methods for each table, about 1 ms a table at
    every start; only the fields are the dataclass's, and ``__init__`` (keyword-only, checking
    the values given), equality, hashing, ``repr`` and refusing assignment (frozen) are written
    once here.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclasses.dataclass(init=False, repr=False, eq=False)(cls)

    def __init__(self, **given: Any) -> None:
        problems: list[Problem] = []
        found = _take_fields(type(self), given, (), problems)
        if found is not _FAILED:
            for name, value in found.items():
                object.__setattr__(self, name, value)
            _check_consistent(self, (), problems)
        if problems:
            raise InvalidSettings(type(self), problems)

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = _fields(type(self))
        shown = ", ".join(f"{spec.name}={getattr(self, spec.name)!r}" for spec in fields)
        return f"{type(self).__name__}({shown})"

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, spec.name) for spec in _fields(type(self)))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Self:
        """Check parsed TOML ``data`` into this table; raise :class:`InvalidSettings` listing
        every problem found."""
        problems: list[Problem] = []
        table = _TableShape(cls, ()).take(data, (), problems)
        if problems:
            raise InvalidSettings(cls, problems)
        return typing.cast(Self, table)

    @classmethod
    def unchecked(cls, **values: Any) -> Self:
        """Build this table from ``values`` already checked, without checking them again (the
        walk builds every table so; a test may want a value no file could hold). Keys left
        out take their defaults; a required key left out is a ``TypeError``."""
        table = object.__new__(cls)
        for spec in _fields(cls):
            if spec.name in values:
                value = values[spec.name]
            elif spec.required:
                raise TypeError(f"{cls.__name__}.unchecked() needs {spec.name}")
            else:
                value = spec.default_value()
            object.__setattr__(table, spec.name, value)
        return table

    def as_mapping(self) -> dict[str, Any]:
        """This table as plain, JSON-safe data: nested tables as dicts, arrays as lists,
        paths and decimal numbers as strings (what ``from_mapping`` accepts back)."""
        return {spec.name: _plain(getattr(self, spec.name)) for spec in _fields(type(self))}

    @classmethod
    def _prepare(cls, given: dict[str, Any]) -> dict[str, Any]:
        """Before the checks: fill in keys derived from others (by default nothing)."""
        return given

    def _consistent(self) -> None:
        """After the checks: refuse keys that do not fit together by raising
        :class:`BadKey` (by default nothing to check)."""


def field_names(table: type[SettingsTable]) -> tuple[str, ...]:
    """The keys ``table`` declares, in order."""
    return tuple(spec.name for spec in _fields(table))


def holds_tables(table: type[SettingsTable], name: str) -> bool:
    """Whether the key ``name`` of ``table`` holds a table (or tables), not a value."""
    return any(spec.name == name and spec.shape.holds_tables for spec in _fields(table))


def _plain(value: Any) -> Any:
    if isinstance(value, SettingsTable):
        return value.as_mapping()
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, Decimal | PurePath):
        return str(value)
    return value


# --- the shapes a field can have ---------------------------------------------------------------


class _Shape:
    """How one annotation is walked: structure first, then its checks."""

    holds_tables = False

    def __init__(self, checks: tuple[Callable[[Any], Any], ...]) -> None:
        self.checks = checks

    def take(self, given: Any, at: tuple[str | int, ...], problems: list[Problem]) -> Any:
        """The checked value for ``given`` at ``at``, or ``_FAILED`` with problems recorded."""
        value = self.structure(given, at, problems)
        if value is _FAILED:
            return _FAILED
        for check in self.checks:
            try:
                value = check(value)
            except BadValue as error:
                problems.append(
                    Problem(BAD_VALUE, at, value, error.expected, hide_value=error.hide_value)
                )
                return _FAILED
        return self.finish(value)

    def structure(self, given: Any, at: tuple[str | int, ...], problems: list[Problem]) -> Any:
        """Walk the structure of ``given`` (a plain value has none)."""
        return given

    def finish(self, value: Any) -> Any:
        """Turn the checked value into the field's type (a plain value stays as it is)."""
        return value


class _PathShape(_Shape):
    def finish(self, value: Any) -> Any:
        return Path(value)


class _TableShape(_Shape):
    holds_tables = True

    def __init__(self, table: type[SettingsTable], checks: tuple[Callable[[Any], Any], ...]):
        super().__init__(checks)
        self.table = table

    def structure(self, given: Any, at: tuple[str | int, ...], problems: list[Problem]) -> Any:
        if isinstance(given, self.table):
            return given
        if not isinstance(given, Mapping):
            problems.append(Problem(NOT_A_TABLE, at, given))
            return _FAILED
        return _walk_table(self.table, given, at, problems)


class _TaggedShape(_Shape):
    holds_tables = True

    def __init__(self, tagged: Tagged, checks: tuple[Callable[[Any], Any], ...]) -> None:
        super().__init__(checks)
        self.tagged = tagged
        self.classes = tuple(tagged.tables.values())

    def structure(self, given: Any, at: tuple[str | int, ...], problems: list[Problem]) -> Any:
        if isinstance(given, self.classes):
            return given
        if not isinstance(given, Mapping):
            problems.append(Problem(NOT_A_TABLE, at, given))
            return _FAILED
        key, tables = self.tagged.key, self.tagged.tables
        tag = given.get(key, self.tagged.default)
        table = tables.get(tag) if isinstance(tag, str) else None
        if table is None:
            problems.append(Problem(BAD_TAG, (*at, key), tag, choices=tuple(tables)))
            return _FAILED
        return _walk_table(table, {**given, key: tag}, at, problems)


class _ArrayShape(_Shape):
    def __init__(self, item: _Shape, checks: tuple[Callable[[Any], Any], ...]) -> None:
        super().__init__(checks)
        self.item = item
        self.holds_tables = item.holds_tables

    def structure(self, given: Any, at: tuple[str | int, ...], problems: list[Problem]) -> Any:
        if not isinstance(given, list | tuple):
            problems.append(Problem(NOT_AN_ARRAY, at, given))
            return _FAILED
        items = [self.item.take(item, (*at, index), problems) for index, item in enumerate(given)]
        return _FAILED if _FAILED in items else tuple(items)


class _KeyedShape(_Shape):
    def __init__(
        self, key: _Shape, item: _Shape, checks: tuple[Callable[[Any], Any], ...]
    ) -> None:
        super().__init__(checks)
        self.key = key
        self.item = item
        self.holds_tables = item.holds_tables

    def structure(self, given: Any, at: tuple[str | int, ...], problems: list[Problem]) -> Any:
        if not isinstance(given, Mapping):
            problems.append(Problem(NOT_A_TABLE, at, given))
            return _FAILED
        found: dict[Any, Any] = {}
        failed = False
        for name, item in given.items():
            place = (*at, str(name))
            key = self.key.take(name, place, problems)
            if key is _FAILED:  # the key is the location itself: not worth showing twice
                problems[-1] = dataclasses.replace(problems[-1], hide_value=True)
            value = self.item.take(item, place, problems)
            failed = failed or key is _FAILED or value is _FAILED
            found[key] = value
        return _FAILED if failed else found


def _shape(hint: Any) -> _Shape:
    """The shape of one resolved field annotation."""
    checks: tuple[Callable[[Any], Any], ...] = ()
    tagged: Tagged | None = None
    if typing.get_origin(hint) is Annotated:
        checks = tuple(mark.function for mark in hint.__metadata__ if isinstance(mark, Check))
        tagged = next((mark for mark in hint.__metadata__ if isinstance(mark, Tagged)), None)
        hint = hint.__origin__
    if tagged is not None:
        return _TaggedShape(tagged, checks)
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        if len(arguments) != 2 or arguments[1] is not Ellipsis:
            raise TypeError(f"a settings array is tuple[X, ...], not {hint}")
        return _ArrayShape(_shape(arguments[0]), checks)
    if origin is dict:
        return _KeyedShape(_shape(arguments[0]), _shape(arguments[1]), checks)
    if isinstance(hint, type) and issubclass(hint, SettingsTable):
        return _TableShape(hint, checks)
    if isinstance(hint, type) and issubclass(hint, PurePath):
        return _PathShape(checks)
    if any(isinstance(option, type) and issubclass(option, SettingsTable) for option in arguments):
        raise TypeError(f"a union of settings tables needs Tagged(...): {hint}")
    return _Shape(checks)


# --- walking a table ---------------------------------------------------------------------------


class _Field:
    __slots__ = ("default", "factory", "name", "shape")

    def __init__(
        self, name: str, shape: _Shape, default: Any, factory: Callable[[], Any] | None
    ) -> None:
        self.name = name
        self.shape = shape
        self.default = default
        self.factory = factory

    @property
    def required(self) -> bool:
        return self.default is NO_VALUE and self.factory is None

    def default_value(self) -> Any:
        return self.factory() if self.factory is not None else self.default


_FIELDS: dict[type, tuple[_Field, ...]] = {}
_NAMES: dict[type, frozenset[str]] = {}


def _fields(table: type[SettingsTable]) -> tuple[_Field, ...]:
    """The fields of ``table`` with their shapes, resolved once per class."""
    known = _FIELDS.get(table)
    if known is None:
        known = _FIELDS[table] = _resolve(table)
    return known


def _names(table: type[SettingsTable]) -> frozenset[str]:
    known = _NAMES.get(table)
    if known is None:
        known = _NAMES[table] = frozenset(spec.name for spec in _fields(table))
    return known


def _resolve(table: type[SettingsTable]) -> tuple[_Field, ...]:
    hints: dict[str, Any] = {}
    for owner in reversed(table.__mro__):
        hints.update(inspect.get_annotations(owner))
    if any(isinstance(hint, str) for hint in hints.values()):  # `from __future__ import ...`
        hints = typing.get_type_hints(table, include_extras=True)
    found = []
    for field in dataclasses.fields(table):  # type: ignore[arg-type]  # a dataclass by now
        missing = dataclasses.MISSING
        found.append(
            _Field(
                field.name,
                _shape(hints[field.name]),
                NO_VALUE if field.default is missing else field.default,
                None if field.default_factory is missing else field.default_factory,
            )
        )
    return tuple(found)


def _walk_table(
    table: type[SettingsTable],
    given: Mapping[str, Any],
    at: tuple[str | int, ...],
    problems: list[Problem],
) -> Any:
    found = _take_fields(table, given, at, problems)
    if found is _FAILED:
        return _FAILED
    built = table.unchecked(**found)
    return built if _check_consistent(built, at, problems) else _FAILED


def _take_fields(
    table: type[SettingsTable],
    given: Mapping[str, Any],
    at: tuple[str | int, ...],
    problems: list[Problem],
) -> Any:
    """Each field's checked value (defaults for those not given), or ``_FAILED``; every
    problem is recorded: bad values, missing keys, then unknown keys."""
    given = table._prepare(dict(given))
    before = len(problems)
    found: dict[str, Any] = {}
    for spec in _fields(table):
        if spec.name in given:
            found[spec.name] = spec.shape.take(given[spec.name], (*at, spec.name), problems)
        elif spec.required:
            problems.append(Problem(MISSING, (*at, spec.name), table=table))
        else:
            found[spec.name] = spec.default_value()
    known = _names(table)
    problems.extend(
        Problem(UNKNOWN_KEY, (*at, str(key)), table=table) for key in given if key not in known
    )
    return _FAILED if len(problems) > before else found


def _check_consistent(
    table: SettingsTable, at: tuple[str | int, ...], problems: list[Problem]
) -> bool:
    try:
        table._consistent()
    except BadKey as error:
        where = (*at, *error.at)
        problems.append(Problem(BAD_KEY, where, error.value, error.problem, table=type(table)))
        return False
    return True
