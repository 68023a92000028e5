"""Form decoding and parameter checks, with the names stripe-python's typed params declare.

Stripe v1 takes `application/x-www-form-urlencoded` bodies (and query strings for GET) with
nested names: `metadata[sale_id]=...`, `expand[0]=latest_charge`, `cart[line_items][0][amount]`.
`decode_form` turns them into nested dicts; `check` validates them against the TypedDict that
stripe-python (the installed version) declares for the endpoint, the way Stripe refuses them:
an unknown name is `parameter_unknown`, a missing required one `parameter_missing`, a value
outside an enumeration `parameter_invalid_value`, a non-integer `parameter_invalid_integer`,
an empty string where one is not allowed `parameter_invalid_empty`. The checked value comes
back converted (ints, bools, lists).
"""

from __future__ import annotations

import re
import sys
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, ForwardRef, Literal, NotRequired, Required, Union
from urllib.parse import parse_qsl

from stripe._request_options import RequestOptions

from kiosk.sim.stripe_emulator.errors import StripeError

# Request options (api_key, idempotency_key...) travel as headers, never as parameters.
_REQUEST_OPTION_NAMES = frozenset(RequestOptions.__annotations__)
_NAME_PART = re.compile(r"\[([^\]]*)\]")


class _Unmatched(Exception):
    """A value did not fit one arm of a union; carries the error it would raise."""

    def __init__(self, error: StripeError) -> None:
        super().__init__(error.message)
        self.error = error


def decode_form(text: str) -> dict[str, Any]:
    """Decode a form body or query string into nested dicts (`a[b][0]` -> {"a": {"b": {"0": ..}}}).

    Empty brackets (`a[]`) append to a list.
    """
    result: dict[str, Any] = {}
    for name, value in parse_qsl(text, keep_blank_values=True):
        head, _, rest = name.partition("[")
        parts = [head, *_NAME_PART.findall("[" + rest)] if rest else [head]
        _place(result, parts, value, name)
    return result


def _place(target: dict[str, Any], parts: list[str], value: str, name: str) -> None:
    node: Any = target
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "":
            if not isinstance(node, list):
                raise StripeError(400, f"Invalid array: {name}", param=name)
            if last:
                node.append(value)
                return
            node.append({})
            node = node[-1]
            continue
        if not isinstance(node, dict):
            raise StripeError(400, f"Invalid hash: {name}", param=name)
        if last:
            node[part] = value
            return
        following = parts[index + 1]
        if part not in node or not isinstance(node[part], dict | list):
            node[part] = [] if following == "" else {}
        node = node[part]


def check(params: dict[str, Any], schema: type) -> dict[str, Any]:
    """Validate decoded `params` against a stripe-python params TypedDict; return them converted.

    Raises StripeError (400, `invalid_request_error`) with `code` and `param` set.
    """
    try:
        return _typed_dict(params, schema, "", top=True)
    except _Unmatched as unmatched:
        raise unmatched.error from None


@cache
def _fields(schema: type, top: bool) -> tuple[dict[str, Any], frozenset[str]]:
    module = vars(sys.modules[schema.__module__])
    fields: dict[str, Any] = {}
    for name, annotation in schema.__annotations__.items():
        if top and name in _REQUEST_OPTION_NAMES:
            continue
        fields[name] = _resolve(annotation, module)
    required = frozenset(getattr(schema, "__required_keys__", frozenset())) & frozenset(fields)
    return fields, required


def _resolve(annotation: Any, module: dict[str, Any]) -> Any:
    """Turn forward references (strings) into types, recursively; drop Required/NotRequired."""
    if isinstance(annotation, str):
        annotation = ForwardRef(annotation)
    if isinstance(annotation, ForwardRef):
        namespace = dict(module)
        namespace.setdefault("Literal", Literal)
        return _resolve(eval(annotation.__forward_arg__, namespace), module)
    origin = typing.get_origin(annotation)
    if origin in (Required, NotRequired):
        return _resolve(typing.get_args(annotation)[0], module)
    if origin is None or origin is Literal:
        return annotation
    args = tuple(_resolve(arg, module) for arg in typing.get_args(annotation))
    if origin in (Union, types.UnionType):
        return Union[args]  # noqa: UP007 - built from a runtime tuple
    if origin in (list, typing.List):  # noqa: UP006
        return list[args[0]]  # type: ignore[valid-type]
    if origin in (dict, typing.Dict, Mapping):  # noqa: UP006
        return dict[args[0], args[1]]  # type: ignore[valid-type]
    return annotation


def _error(message: str, param: str, code: str | None) -> _Unmatched:
    return _Unmatched(StripeError(400, message, code=code, param=param))


def _join(path: str, name: str) -> str:
    return f"{path}[{name}]" if path else name


def _typed_dict(value: Any, schema: type, path: str, *, top: bool = False) -> dict[str, Any]:
    if isinstance(value, str) and not top:
        raise _error(f"Invalid object: {path} must be a hash", path, "parameter_invalid_value")
    if not isinstance(value, dict):
        raise _error(f"Invalid object: {path} must be a hash", path, "parameter_invalid_value")
    fields, required = _fields(schema, top)
    for name in value:
        if name not in fields:
            param = _join(path, name)
            raise _error(f"Received unknown parameter: {param}", param, "parameter_unknown")
    for name in sorted(required):
        if name not in value:
            param = _join(path, name)
            raise _error(f"Missing required param: {param}.", param, "parameter_missing")
    return {name: _value(item, fields[name], _join(path, name)) for name, item in value.items()}


def _value(value: Any, kind: Any, path: str) -> Any:
    origin = typing.get_origin(kind)
    if kind is Any or kind is object:
        return value
    if origin in (Union, types.UnionType):
        return _union(value, typing.get_args(kind), path)
    if origin is Literal:
        allowed = typing.get_args(kind)
        if value in allowed:
            return value
        shown = ", ".join(repr(a) for a in allowed)
        raise _error(f"Invalid {path}: must be one of {shown}", path, "parameter_invalid_value")
    if origin is list:
        return _list(value, typing.get_args(kind)[0], path)
    if origin is dict or _is_untyped_object(kind):
        return _hash(value, path)
    if typing.is_typeddict(kind) or _is_typeddict(kind):
        return _typed_dict(value, kind, path)
    if kind is bool:
        if value in ("true", "false"):
            return value == "true"
        raise _error(f"Invalid boolean: {value!r}", path, "parameter_invalid_value")
    if kind is int:
        return _integer(value, path)
    if kind is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise _error(f"Invalid decimal: {value!r}", path, "parameter_invalid_value") from None
    if kind is str:
        if not isinstance(value, str):
            raise _error(f"Invalid string: {path}", path, "parameter_invalid_value")
        return value
    if kind is type(None):
        raise _error(f"Invalid {path}", path, "parameter_invalid_value")
    return value


def _is_typeddict(kind: Any) -> bool:
    return isinstance(kind, type) and hasattr(kind, "__required_keys__")


def _is_untyped_object(kind: Any) -> bool:
    target = typing.get_origin(kind) or kind
    return getattr(target, "__name__", "") in {"UntypedStripeObject", "StripeObject"}


def _integer(value: Any, path: str) -> int:
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    if value == "":
        raise _error(f"Invalid integer: {path} is empty", path, "parameter_invalid_empty")
    raise _error(f"Invalid integer: {value!r}", path, "parameter_invalid_integer")


def _hash(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _error(f"Invalid object: {path} must be a hash", path, "parameter_invalid_value")
    return dict(value)


def _list(value: Any, item_kind: Any, path: str) -> list[Any]:
    if isinstance(value, dict):
        if not all(key.isdigit() for key in value):
            raise _error(f"Invalid array: {path}", path, "parameter_invalid_value")
        items = [value[key] for key in sorted(value, key=int)]
    elif isinstance(value, list):
        items = value
    else:
        raise _error(f"Invalid array: {path}", path, "parameter_invalid_value")
    return [_value(item, item_kind, f"{path}[{index}]") for index, item in enumerate(items)]


def _union(value: Any, arms: tuple[Any, ...], path: str) -> Any:
    # A hash fits hash-like arms; a string fits scalar arms. Try the fitting ones in order.
    def is_structured(arm: Any) -> bool:
        origin = typing.get_origin(arm)
        return origin in (list, dict) or _is_typeddict(arm) or _is_untyped_object(arm)

    # stripe-python types enumerations as `Literal[...]|str` so new values do not break old
    # clients; the API itself still refuses values outside the enumeration.
    enumerated = any(
        typing.get_origin(arm) is Literal and any(typing.get_args(arm)) for arm in arms
    )
    if enumerated:
        arms = tuple(arm for arm in arms if arm is not str)
    fitting = [arm for arm in arms if is_structured(arm) == isinstance(value, dict | list)]
    if not fitting:
        fitting = list(arms)
    first_error: StripeError | None = None
    for arm in fitting:
        try:
            return _value(value, arm, path)
        except _Unmatched as unmatched:
            if first_error is None or unmatched.error.code == "parameter_unknown":
                first_error = unmatched.error
    assert first_error is not None
    raise _Unmatched(first_error)
