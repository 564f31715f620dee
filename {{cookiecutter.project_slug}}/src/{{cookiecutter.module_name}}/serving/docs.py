"""OpenAPI description of POST /predict, built from the model's schema.

The endpoint validates by hand for speed, so FastAPI cannot infer its body:
this describes it for /docs and for clients generated from /openapi.json.
"""
from {{ cookiecutter.module_name }}.paths import DECIMALS

ERRORS = {
    "400": "Malformed JSON",
    "413": "Body larger than MAX_BODY_BYTES, or more rows than MAX_BATCH_ROWS",
    "415": "Content-Type is not application/json",
    "422": "Invalid rows: missing, unknown or non-numeric field, NaN or Infinity, empty list",
    "503": "The model is not loaded",
}
LABEL = {"type": ["integer", "string"]}
PREDICTION = {
    "type": "object",
    "properties": {
        "model_version": {"type": "string",
                          "description": "MODEL_VERSION, or the sha256 prefix of the model"},
        "classes": {"type": "array", "items": LABEL,
                    "description": "Class labels, in the order of each probability row"},
        "predictions": {"type": "array", "items": LABEL,
                        "description": "The predicted class of each row"},
        "probabilities": {"type": "array", "items": {"type": "array", "items": {
            "type": "number"}}, "description": "Per row, each class's probability "
                                               f"({DECIMALS} decimals)"},
    },
}
PROBLEM = {"type": "object", "properties": {"detail": {
    "type": "string", "description": "What is wrong, naming the row and field"}}}


def row_schema(model) -> dict:
    if model is None:
        return {"type": "object", "description": "Feature values keyed by name"}
    return {
        "type": "object",
        "description": "Feature values keyed by name; null means missing (imputed)",
        "required": model.feature_names,
        "additionalProperties": False,
        "properties": {
            feature.name: {
                "type": ["integer" if feature.integer else "number", "null"],
                "description": f"seen in training: {feature.minimum} to {feature.maximum}",
            }
            for feature in model.features
        },
    }


def example_row(model) -> dict:
    """The middle of each training range: a valid row to try in /docs."""
    if model is None:
        return {}
    middle = {}
    for feature in model.features:
        value = (feature.minimum + feature.maximum) / 2
        middle[feature.name] = round(value) if feature.integer else round(value, 4)
    return middle


def json_content(schema: dict, **extra) -> dict:
    return {"application/json": {"schema": schema, **extra}}


def predict_operation(model, max_rows: int) -> dict:
    row = row_schema(model)
    body = {"oneOf": [row, {"type": "array", "items": row, "minItems": 1,
                            "maxItems": max_rows}]}
    return {
        "summary": "Predict the class of one row (an object) or a batch (a list of them)",
        "operationId": "predict",
        "requestBody": {"required": True,
                        "content": json_content(body, example=example_row(model))},
        "responses": {
            "200": {"description": "One prediction per row", "content": json_content(PREDICTION)},
            **{status: {"description": text, "content": json_content(PROBLEM)}
               for status, text in ERRORS.items()},
        },
    }


# The Open Inference Protocol's REST bodies (open_inference.py), as its spec
# defines them, with this model's tensors filled in.
TENSOR_DATA = {"type": "array", "items": {}, "description": "Row-major values, flat or nested"}
V2_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "string", "description": "What is wrong, naming the input, row and feature"}}}


def tensor(name: str, datatype: str, shape: list, description: str) -> dict:
    return {"type": "object", "description": description,
            "required": ["name", "shape", "datatype", "data"],
            "properties": {"name": {"type": "string", "example": name},
                           "shape": {"type": "array", "items": {"type": "integer"},
                                     "example": shape},
                           "datatype": {"type": "string", "example": datatype},
                           "parameters": {"type": "object"}, "data": TENSOR_DATA}}


def infer_operation(model, max_rows: int) -> dict:
    columns = len(model.features) if model else 0
    names = ", ".join(model.feature_names) if model else "the model's features"
    request = {"type": "object", "required": ["inputs"], "properties": {
        "id": {"type": "string"},
        "parameters": {"type": "object"},
        "inputs": {"type": "array", "minItems": 1, "items": tensor(
            "features", "FP64", [1, columns],
            f"One tensor [rows, {columns}] (columns: {names}), or one tensor per feature "
            f"named after it, shape [rows]; null is a missing value; at most {max_rows} rows")},
        "outputs": {"type": "array", "items": {"type": "object", "required": ["name"],
                                               "properties": {"name": {
                                                   "enum": ["predict", "predict_proba"]}}}},
    }}
    example = {"id": "1", "inputs": [{"name": "features", "shape": [1, columns],
                                      "datatype": "FP64",
                                      "data": list(example_row(model).values())}]}
    response = {"type": "object", "required": ["model_name", "outputs"], "properties": {
        "model_name": {"type": "string"}, "model_version": {"type": "string"},
        "id": {"type": "string"},
        "outputs": {"type": "array", "items": tensor(
            "predict_proba", "FP64", [1, len(model.classes) if model else 0],
            "predict: the class of each row, shape [rows]; predict_proba: each class's "
            f"probability ({DECIMALS} decimals), shape [rows, classes]")},
    }}
    return {
        "summary": "Open Inference Protocol (KServe V2) inference",
        "operationId": "infer",
        "tags": ["Open Inference Protocol (V2)"],
        "requestBody": {"required": True, "content": json_content(request, example=example)},
        "responses": {
            "200": {"description": "The outputs", "content": json_content(response)},
            **{status: {"description": text, "content": json_content(V2_ERROR)}
               for status, text in ERRORS.items()},
        },
    }
