"""The Typer application that every command module registers on."""

import typer

from attunement.cli.commands import LazyGroup

app = typer.Typer(
    cls=LazyGroup,
    name="attunement",
    help="Routine outcome and relationship monitoring: instruments, scoring, change statistics.",
    no_args_is_help=True,
    add_completion=False,
)

JSON_HELP = "Print machine-readable JSON instead of text."


@app.callback()
def root() -> None:
    """Routine outcome and relationship monitoring: instruments, scoring, change statistics."""
