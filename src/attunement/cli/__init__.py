"""The ``attunement`` command line. Each command lives in its own module and registers on ``app``."""

from attunement.cli import instruments_cmd  # noqa: F401  (registers commands)
from attunement.cli import sudden_gains_cmd  # noqa: F401
from attunement.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
