"""One way for every command to print: text for people, JSON for programs."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, NoReturn

from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress

console = Console()
errors = Console(stderr=True)


def progress_bar(label: str, as_json: bool) -> Progress:
    """The bar a long command shows on standard error while it works (none with ``--json``, so
    the output stays one JSON document): ``label`` (it may name ``{task.description}``), how many
    of how many, the time left; it goes away when done. rich.progress is imported here, not at
    start-up, since most commands never show one."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=errors,
        transient=True,
        disable=as_json,
    )


def to_jsonable(value: Any) -> Any:
    """Turn dataclasses, enums, numpy scalars and NaN into plain JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(asdict(value))
    if hasattr(value, "model_dump"):
        return to_jsonable(value.model_dump(mode="json"))
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return to_jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def emit(data: Any, as_json: bool, render: Callable[[], None]) -> None:
    """Print ``data`` as JSON, or call ``render`` to print it for people."""
    if as_json:
        print(json.dumps(to_jsonable(data), indent=2, ensure_ascii=False))
    else:
        render()


def fail(message: str, as_json: bool, code: int = 2) -> NoReturn:
    """Report an input error in the requested format and exit non-zero."""
    import typer

    if as_json:
        print(json.dumps({"error": message}))
    else:
        errors.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def number(value: float | None, digits: int = 2) -> str:
    """Round only for display."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
