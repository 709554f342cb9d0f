"""Every CLI command and option is documented in docs/cli.md, and nothing documented is gone."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer.main

from scanroute.cli.main import app

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _commands() -> dict[str, list[str]]:
    """Every leaf command path with its long options (``--help`` left out)."""
    found: dict[str, list[str]] = {}

    def walk(command: Any, path: list[str]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, [*path, name])
            return
        options = []
        for param in command.params:
            if param.param_type_name == "option":
                long = [o for o in param.opts if o.startswith("--")] or list(param.opts)
                if long[0] != "--help":
                    options.append(long[0])
        found[" ".join(path)] = options

    walk(typer.main.get_command(app), [])
    return found


def _rows() -> dict[str, str]:
    """Documented command path → its table row."""
    rows: dict[str, str] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `scanroute ([a-z -]+)`", line)
        if match:
            rows[match.group(1).strip()] = line
    return rows


def test_every_command_and_option_is_documented() -> None:
    rows = _rows()
    commands = _commands()
    assert len(commands) > 40  # the walk really found the command tree
    undocumented = sorted(set(commands) - set(rows))
    assert undocumented == []
    missing_options = {
        name: [o for o in options if f"`{o}`" not in rows[name]]
        for name, options in commands.items()
        if any(f"`{o}`" not in rows[name] for o in options)
    }
    assert missing_options == {}


def test_documented_commands_exist() -> None:
    assert sorted(set(_rows()) - set(_commands())) == []
