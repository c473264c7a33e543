"""Which module holds each command, so that a command imports only what it uses.

Importing every command module at start-up loaded the web stack, the alerts engine, scikit-learn
and pandas for any command (about 4 s before ``attunement score`` could score one form). The
group below lists the commands from :data:`COMMANDS` and imports a command's module only when
that command runs or its own help is asked for. ``tests/test_cli_commands.py`` checks that the
table names every command and says what each one's own help says.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer.main
from typer.core import TyperCommand as Command
from typer.core import TyperGroup

#: Command name -> (module under ``attunement.cli``, the first line of its help), in the order
#: ``attunement --help`` lists them.
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("serve_cmd", "Start the web application: client links, clinician, supervisor and admin pages."),
    "worker": (
        "worker_cmd",
        "Send queued messages (links to clients) through the clinic's SMTP server or text-message "
        "gateway; retries failures with a growing wait.",
    ),
    "score": (
        "instruments_cmd",
        "Score one completed questionnaire: total, band, caseness and safety flags.",
    ),
    "instruments": (
        "instruments_cmd",
        "List the instruments; import a clinic's licensed wording; print a Questionnaire as FHIR "
        "tools get it.",
    ),
    "change": (
        "change_cmd",
        "Is the change from --pre to --post reliable, and did the client cross the clinical cut-off?",
    ),
    "sudden-gains": (
        "sudden_gains_cmd",
        "Find sudden gains (Tang & DeRubeis 1999) in client-rated session scores, with reversals.",
    ),
    "alerts": (
        "alerts_cmd",
        "Current alerts (safety, rupture, perception gap; with a model also not on track and dropout "
        "risk) for the latest session of every client's course of treatment; split alliance and "
        "cohesion for the latest session of every couple, family and group (rows with case_id).",
    ),
    "report": (
        "report_cmd",
        "Print an episode report (scores with bands, change statistics, charts, alerts and what was "
        "done, tailoring, how the episode ended), or with --session one session's summary, to PDF "
        "with headless Chromium.",
    ),
    "evidence": (
        "evidence_cmd",
        "The evidence registry: relationship elements, adaptations and what does not work, "
        "with effect sizes.",
    ),
    "tailor": (
        "evidence_cmd",
        "Ranked, explained recommendations and cautions for one client, from their intake profile.",
    ),
    "support": (
        "evidence_cmd",
        "The clinical support checklist for an alert, filled in with the client's own data.",
    ),
    "simulate": (
        "simulate_cmd",
        "Simulate a clinic with known truth: measures, episodes and truth tables, and a summary.",
    ),
    "evaluate": (
        "evaluate_cmd",
        "Fit every early-warning method on reference clients and measure it, session by session, on others.",
    ),
    "fit": (
        "fit_cmd",
        "Fit the forecast (deterioration, no improvement, dropout) on finished courses and write the model.",
    ),
    "demo": (
        "demo_cmd",
        "Score and classify a small built-in caseload (four clients, PHQ-9, GAD-7 and the check-in).",
    ),
    "admin": ("admin_cmd", "Set up a clinic's administrators."),
    "audit": ("audit_cmd", "Seal and verify the audit log."),
    "client": ("client_cmd", "Export or erase one client's record."),
    "fhir": ("fhir_cmd", "Import FHIR QuestionnaireResponses; export clients as FHIR Bundles."),
    "import-history": (
        "import_history_cmd",
        "Import a service's history (canonical measures, episodes and actions tables) into the app's "
        "database.",
    ),
    "export": (
        "export_cmd",
        "Export everything the service holds as tables (the canonical measures, episodes and actions, "
        "and the rest of the record), CSV or Parquet, and as one FHIR Bundle (fhir.json).",
    ),
    "backup": (
        "backup_cmd",
        "Snapshot the database while the app runs (SQLite's online backup, or pg_dump).",
    ),
    "restore": (
        "backup_cmd",
        "Restore a backup into an empty database (a SQLite file that does not exist yet, or a "
        "PostgreSQL database without tables), bring it up to this version, and check its audit log.",
    ),
}


def load(name: str) -> None:
    """Import the module that registers ``name`` on the application."""
    importlib.import_module(f"attunement.cli.{COMMANDS[name][0]}")


class LazyGroup(TyperGroup):
    """The top-level group: lists every command from :data:`COMMANDS` and builds one only when it
    is needed. While the group's own help is written, commands not yet loaded are shown by their
    line in the table instead of being imported."""

    listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS) + sorted(set(self.commands) - set(COMMANDS))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        known = self.commands.get(cmd_name)
        if known is not None or cmd_name not in COMMANDS:
            return known
        if self.listing:
            return Command(cmd_name, help=COMMANDS[cmd_name][1])
        load(cmd_name)
        built = _build(cmd_name)
        if built is not None:
            self.commands[cmd_name] = built
        return built

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False


def _build(name: str) -> Any:
    """The click command or group the application registered under ``name``."""
    from attunement.cli.app import app

    for info in app.registered_commands:
        registered = info.name or (info.callback.__name__.replace("_", "-") if info.callback else "")
        if registered == name:
            return typer.main.get_command_from_info(
                info,
                pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode,
            )
    for group in app.registered_groups:
        if group.name == name:
            return typer.main.get_group_from_info(
                group,
                pretty_exceptions_short=app.pretty_exceptions_short,
                suggest_commands=app.suggest_commands,
                rich_markup_mode=app.rich_markup_mode,
            )
    return None
