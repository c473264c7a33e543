"""Reading the JSON data files that sit beside the code (parameters, rules, registries)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from attunement.errors import DefinitionError


class StrictModel(BaseModel):
    """The base of every data-file model: an unknown field is refused (a typo is not silently
    ignored) and a loaded value cannot be changed."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Model = TypeVar("Model", bound=BaseModel)


def load_json_model(path: Path, model: type[Model]) -> Model:
    """Read ``path`` and validate it as ``model``; a bad file is refused with its name and the reason."""
    try:
        return model.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValidationError, ValueError) as exc:
        raise DefinitionError(f"{path.name}: {exc}") from exc
