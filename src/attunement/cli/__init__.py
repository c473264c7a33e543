"""The ``attunement`` command line. Each command lives in its own module and registers on ``app``."""

from attunement.cli import (  # noqa: F401  (importing a module registers its commands)
    admin_cmd,
    alerts_cmd,
    audit_cmd,
    backup_cmd,
    change_cmd,
    client_cmd,
    demo_cmd,
    evaluate_cmd,
    evidence_cmd,
    fit_cmd,
    instruments_cmd,
    report_cmd,
    serve_cmd,
    simulate_cmd,
    sudden_gains_cmd,
    worker_cmd,
)
from attunement.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
