"""The README documents every command and every instrument that ships."""

from pathlib import Path

import pytest

from attunement.cli.commands import COMMANDS
from attunement.instruments import load_instruments

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", sorted(COMMANDS))  # every command: tests/test_cli_commands.py
def test_every_command_is_in_the_readme(command):
    assert f"attunement {command}" in README


@pytest.mark.parametrize("instrument_id", sorted(load_instruments()))
def test_every_instrument_is_in_the_readme(instrument_id):
    assert f"`{instrument_id}`" in README


def test_quickstart_is_exactly_two_commands():
    quickstart = README.split("## Quickstart", 1)[1].split("##", 1)[0]
    block = quickstart.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make run", "make test"]
