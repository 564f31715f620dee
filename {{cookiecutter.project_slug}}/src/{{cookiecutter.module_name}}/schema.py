"""The model's input contract: feature names, types and training ranges.

Serving validates requests against it; monitoring flags values outside the
ranges seen in training.
"""
import json
from pathlib import Path

import pandas as pd


def describe_inputs(features: pd.DataFrame, labels: pd.Series) -> dict:
    return {
        "features": [
            {
                "name": str(name),
                "dtype": "integer" if pd.api.types.is_integer_dtype(column) else "number",
                "min": float(column.min()),
                "max": float(column.max()),
            }
            for name, column in features.items()
        ],
        "target": str(labels.name),
        "classes": sorted(labels.unique().tolist()),
    }


def write_schema(schema: dict, path: Path) -> None:
    path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")


def read_schema(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
