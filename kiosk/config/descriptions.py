"""What each setting means: the docstring written under it in ``kiosk.config.settings``.

The settings tables keep their field docstrings in the source only: reading and parsing the
source of every table at import would cost a tenth of a second of every start before the
first frame. They are read here instead, once per table, when a message or a test needs them.
"""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import textwrap
from dataclasses import is_dataclass


def setting_description(table: type, name: str) -> str:
    """The description of setting ``name`` of the settings table ``table`` (the docstring
    under it, also in a base class); ``""`` when it has none."""
    for owner in table.__mro__:
        if is_dataclass(owner):
            found = _attribute_docstrings(owner).get(name)
            if found:
                return found
    return ""


@functools.cache
def _attribute_docstrings(table: type) -> dict[str, str]:
    """Each annotated attribute of ``table``'s own class body with the string right under it."""
    try:
        source = textwrap.dedent(inspect.getsource(table))
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
