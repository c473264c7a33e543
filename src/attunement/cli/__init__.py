"""The ``attunement`` command line. Each command lives in its own module and registers on ``app``;
a command's module is imported only when that command runs (:mod:`attunement.cli.commands`)."""

from attunement.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
