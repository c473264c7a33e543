"""attunement: routine outcome and relationship monitoring built on the evidence about therapy relationships.

The public API is the core: instruments and scoring, the canonical tables and change statistics.
Shells (the command line, the web app, the evaluation) call into it; it never calls them
(docs/architecture.md).
"""

from typing import Any

from attunement.errors import AttunementError, FieldProblem, InvalidInputError

__version__ = "0.1.0"

__all__ = [
    "AttunementError",
    "FieldProblem",
    "InvalidInputError",
    "__version__",
    "get_instrument",
    "load_instruments",
    "score",
]


def __getattr__(name: str) -> Any:
    """The instrument functions, imported on first use: loading the questionnaire models takes
    a third of a second that a command which does not score anything should not pay."""
    if name in ("get_instrument", "load_instruments", "score"):
        import attunement.instruments

        return getattr(attunement.instruments, name)
    raise AttributeError(f"module 'attunement' has no attribute {name!r}")
