"""attunement: routine outcome and relationship monitoring built on the evidence about therapy relationships.

The public API is the core: instruments and scoring, the canonical tables and change statistics.
Shells (command line, and later the web app) call into it; it never calls them.
"""

from attunement.errors import AttunementError, FieldProblem, InvalidInputError
from attunement.instruments import get_instrument, load_instruments, score

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
