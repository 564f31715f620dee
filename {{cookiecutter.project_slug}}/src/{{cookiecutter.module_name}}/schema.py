"""The model's input contract: feature names, types and training ranges.

Serving validates requests against it; monitoring flags values outside the
ranges seen in training. This half needs pandas (training); reading and
writing the file lives in feature_schema.py, which serving imports.
"""
import pandas as pd

from {{ cookiecutter.module_name }}.feature_schema import read_schema, write_schema

__all__ = ["describe_inputs", "read_schema", "write_schema"]


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
