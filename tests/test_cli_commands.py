"""The command line's table of commands (attunement.cli.commands): every command is listed with
the module that holds it and the line its own help starts with, and a command imports only what
it uses (``--help`` and ``score`` load no database, web, data-frame or model library)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import typer.main

from attunement.cli.app import app
from attunement.cli.commands import COMMANDS

HEAVY = ("sqlalchemy", "pandas", "sklearn", "scipy", "fastapi", "statsmodels", "matplotlib", "pyarrow")


def _every_command():
    for module in sorted({m for m, _ in COMMANDS.values()}):
        importlib.import_module(f"attunement.cli.{module}")
    group = typer.main.get_command(app)
    return {name: group.get_command(None, name) for name in group.list_commands(None)}


def test_the_table_lists_every_command_with_its_module_and_its_own_first_line():
    commands = _every_command()
    assert set(commands) == set(COMMANDS)
    for name, command in commands.items():
        module, line = COMMANDS[name]
        assert command.get_short_help_str(10_000) == line, name
        callback = command.callback
        if callback is not None and callback.__module__ != "attunement.cli.app":
            assert callback.__module__ == f"attunement.cli.{module}", name


def _loaded_after(*args: str) -> list[str]:
    code = (
        "import sys, json\n"
        "from attunement.cli import main\n"
        f"sys.argv = ['attunement', *{list(args)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY)!r}))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_help_and_scoring_one_form_load_no_heavy_library():
    assert _loaded_after("--help") == []
    assert _loaded_after("score", "-i", "phq9", "-a", "1,1,1,1,1,1,1,1,0") == []


def test_a_command_still_runs_and_shows_its_own_help():
    out = subprocess.run(
        [sys.executable, "-c", "from attunement.cli import main; main()", "change", "--help"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and "--reliability" in out.stdout
