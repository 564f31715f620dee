"""OpenAPI description of POST /predict, built from the model's schema.

The endpoint validates by hand for speed, so FastAPI cannot infer its body:
this describes it for /docs and for clients generated from /openapi.json.
"""
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
                                               "(6 decimals)"},
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
