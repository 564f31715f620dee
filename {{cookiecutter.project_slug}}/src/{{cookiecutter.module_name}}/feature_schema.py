"""models/schema.json, read and written with the standard library only.

Training describes the inputs with pandas (schema.py); the serving image,
which carries no pandas, reads the same file through this module.
"""
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Feature:
    name: str
    integer: bool
    minimum: float
    maximum: float


def write_schema(schema: dict, path: Path) -> None:
    path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")


def read_schema(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def features_of(schema: dict) -> list:
    """Each input feature, in the order the model takes them."""
    return [Feature(item["name"], item["dtype"] == "integer", item["min"], item["max"])
            for item in schema["features"]]
