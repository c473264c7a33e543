"""The README documents every command and every instrument that ships."""

import shlex
import subprocess
import sys
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


def _examples() -> list[tuple[str, str]]:
    """Each ``$ attunement ...`` line of the README's text blocks and the output printed under it."""
    found = []
    for block in README.split("```text")[1:]:
        body = block.split("```", 1)[0]
        for chunk in body.split("$ ")[1:]:
            command, _, output = chunk.partition("\n")
            found.append((command.strip(), output.strip()))
    return found


@pytest.mark.parametrize(("command", "output"), _examples(), ids=[c for c, _ in _examples()])
def test_the_readme_examples_print_what_the_readme_shows(command, output):
    """Run as a user would (the installed command), compared with line wrapping aside."""
    words = shlex.split(command)
    assert words[0] == "attunement"
    script = Path(sys.executable).with_name("attunement")
    ran = subprocess.run(
        [str(script), *words[1:]], capture_output=True, text=True, env={"COLUMNS": "200", "PATH": ""}
    )
    assert ran.returncode == 0, ran.stderr
    assert " ".join(ran.stdout.split()) == " ".join(output.split())


def test_the_readme_has_examples_to_check():
    assert len(_examples()) >= 2
