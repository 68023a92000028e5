"""README.md documents every ``kiosk`` command: a new command without a line there fails.

The idea of sqlite-utils' ``tests/test_docs.py``: walk the click command tree and look for
each leaf command's full path ("kiosk catalog import") in the README.
"""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from kiosk.cli import cli

README = Path(__file__).resolve().parent.parent / "README.md"


def command_paths(group: click.Group, prefix: str) -> list[str]:
    """The full path of every leaf command under ``group``, such as "kiosk staff set-pin"."""
    paths: list[str] = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, path))
        else:
            paths.append(path)
    return paths


LEAF_COMMANDS = command_paths(cli, "kiosk")


def test_the_command_tree_has_the_commands_the_readme_promises() -> None:
    assert "kiosk catalog import" in LEAF_COMMANDS
    assert "kiosk demo" in LEAF_COMMANDS
    assert "kiosk db backup" in LEAF_COMMANDS
    assert len(LEAF_COMMANDS) == len(set(LEAF_COMMANDS)) >= 11


@pytest.mark.parametrize("path", LEAF_COMMANDS)
def test_every_kiosk_command_is_documented_in_the_readme(path: str) -> None:
    readme = README.read_text(encoding="utf-8")
    assert f"`{path}" in readme, f"{path!r} is missing from README.md's command list"


@pytest.mark.parametrize("path", LEAF_COMMANDS)
def test_every_kiosk_command_has_a_one_line_description(path: str) -> None:
    command: click.Command = cli
    for name in path.split()[1:]:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    description = command.get_short_help_str(limit=200)
    assert description.strip(), f"{path!r} has no description in --help"
