"""What each setting means: the docstring written under it in ``kiosk.config.settings``.

The settings models keep their field docstrings in the source only: pydantic could copy them
into ``Field.description`` (``use_attribute_docstrings``), but that reads and parses the
source of every model at import, a tenth of a second of every start before the first frame.
They are read here instead, once per model, when a message or a test needs them.
"""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import textwrap

from pydantic import BaseModel


def setting_description(model: type[BaseModel], name: str) -> str:
    """The description of setting ``name`` of ``model`` (its ``Field(description=...)``, or
    the docstring under it, also in a base class); ``""`` when it has none."""
    field = model.model_fields.get(name)
    if field is not None and field.description:
        return field.description
    for owner in model.__mro__:
        if isinstance(owner, type) and issubclass(owner, BaseModel) and owner is not BaseModel:
            found = _attribute_docstrings(owner).get(name)
            if found:
                return found
    return ""


@functools.cache
def _attribute_docstrings(model: type[BaseModel]) -> dict[str, str]:
    """Each annotated attribute of ``model``'s own class body with the string right under it."""
    try:
        source = textwrap.dedent(inspect.getsource(model))
    except (OSError, TypeError):  # no source (a frozen build): no descriptions
        return {}
    body = next(
        (node.body for node in ast.parse(source).body if isinstance(node, ast.ClassDef)), []
    )
    found: dict[str, str] = {}
    for statement, following in itertools.pairwise(body):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            found[statement.target.id] = inspect.cleandoc(following.value.value)
    return found
