"""The ``attunement`` command line. Each command lives in its own module and registers on ``app``."""

from attunement.cli import (
    change_cmd,  # noqa: F401
    instruments_cmd,  # noqa: F401  (registers commands)
    sudden_gains_cmd,  # noqa: F401
)
from attunement.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
