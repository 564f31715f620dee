"""The Open Inference Protocol (KServe "V2") REST routes, beside /predict.

KServe, Seldon, Triton's clients and their gateways speak it unchanged:

- GET /v2, /v2/health/live, /v2/health/ready
- GET /v2/models/<name> (metadata) and /v2/models/<name>/ready
- POST /v2/models/<name>/infer, with either one row-major tensor of shape
  [rows, features] ("features", or any single name) or one tensor per feature,
  named after it, of shape [rows] or [rows, 1].

Inputs pass the same validation as /predict (null is a missing value), and
predictions feed the same metrics and drift window. Errors are the spec's
{"error": "..."} with a 4xx (503 until the model is loaded). Not supported:
the binary tensor extension and /versions/<version>/ paths.
"""
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from {{ cookiecutter.module_name }} import __version__
from {{ cookiecutter.module_name }}.serving.predict import JsonEndpoint
from {{ cookiecutter.module_name }}.serving.typed_decoding import decoded_infer_request
from {{ cookiecutter.module_name }}.serving.validation import ALLOWED_TYPES, RequestError, json_type

MATRIX_INPUT = "features"
OUTPUTS = frozenset({"predict", "predict_proba"})
NUMERIC_DATATYPES = frozenset({"FP64", "FP32", "FP16", "INT64", "INT32", "INT16", "INT8",
                               "UINT64", "UINT32", "UINT16", "UINT8"})


def label_datatype(classes: list) -> str:
    if all(isinstance(label, int) for label in classes):
        return "INT64"
    return "BYTES" if any(isinstance(label, str) for label in classes) else "FP64"


def model_metadata(model, name: str) -> dict:
    return {
        "name": name,
        "versions": [model.version],
        "platform": "onnx_onnxv1",
        "inputs": [{"name": MATRIX_INPUT, "datatype": "FP64",
                    "shape": [-1, len(model.features)]}],
        "outputs": [{"name": "predict", "datatype": label_datatype(model.classes),
                     "shape": [-1]},
                    {"name": "predict_proba", "datatype": "FP64",
                     "shape": [-1, len(model.classes)]}],
        # The tensor's columns in order; each is also accepted as an input of its own.
        "properties": {"columns": ",".join(model.feature_names)},
    }


def is_size(value) -> bool:
    """A tensor dimension: a whole number >= 0 (JSON may write 2 as 2.0)."""
    return type(value) is int and value >= 0 or \
        type(value) is float and value >= 0 and value.is_integer()


def flat(data) -> list:
    """Tensor data may be nested lists; the protocol's order is row-major."""
    while list in map(type, data):
        data = [value for item in data for value in (item if type(item) is list else [item])]
    return data


class InferEndpoint(JsonEndpoint):
    content_type_required = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.label_datatype = label_datatype(self.model.classes) if self.model else None

    def error_body(self, message: str) -> dict:
        return {"error": message}

    def check_headers(self, headers: dict) -> None:
        super().check_headers(headers)
        if b"inference-header-content-length" in headers:
            raise RequestError(400, "the binary tensor data extension is not supported: "
                                    "send JSON data (binary_data=False)")

    def matrix_of(self, body: bytes, headers: dict) -> tuple:
        """The usual request, one [rows, features] tensor, the fast way
        (serving/typed_decoding.py); any other the way that names what is wrong."""
        request = decoded_infer_request(body)
        if request is not None and len(request.inputs) == 1:
            tensor, columns = request.inputs[0], len(self.validator.names)
            shape = tensor.shape
            if len(shape) == 2 and shape[1] == columns \
                    and 0 < shape[0] <= self.settings.max_batch_rows \
                    and len(tensor.data) == shape[0] * columns \
                    and tensor.datatype in NUMERIC_DATATYPES \
                    and tensor.name not in self.validator.name_set:  # not a per-feature input
                wanted = OUTPUTS if request.outputs is None else {
                    output.name for output in request.outputs}
                return (self.validator.typed_matrix(tensor.data, shape[0]),
                        (request.id, wanted))
        return super().matrix_of(body, headers)

    def read(self, payload, headers: dict) -> tuple:
        if type(payload) is not dict or type(payload.get("inputs")) is not list \
                or not payload["inputs"]:
            raise RequestError(422, "body must be an object with a non-empty list \"inputs\"")
        request_id = payload.get("id")
        if request_id is not None and type(request_id) is not str:
            raise RequestError(422, f"id: expected a string, got {json_type(request_id)}")
        wanted = self.requested_outputs(payload.get("outputs"))
        return self.matrix(payload["inputs"]), (request_id, wanted)

    def content(self, request, labels: list, probabilities) -> dict:
        request_id, wanted = request
        rows, classes = probabilities.shape
        outputs = []  # only those asked for, in this order
        if "predict" in wanted:
            outputs.append({"name": "predict", "datatype": self.label_datatype,
                            "shape": [rows], "data": labels})
        if "predict_proba" in wanted:
            outputs.append({"name": "predict_proba", "datatype": "FP64",
                            "shape": [rows, classes], "data": probabilities.ravel().tolist()})
        answer = {"model_name": self.settings.model_name, "model_version": self.model.version,
                  "outputs": outputs}
        if request_id is not None:
            answer["id"] = request_id
        return answer

    @staticmethod
    def requested_outputs(outputs) -> set:
        if outputs is None:
            return OUTPUTS
        if type(outputs) is not list:
            raise RequestError(422, f"outputs: expected an array, got {json_type(outputs)}")
        names = set()
        for index, output in enumerate(outputs):
            name = output.get("name") if type(output) is dict else None
            if name not in OUTPUTS:
                raise RequestError(422, f"outputs[{index}].name: expected 'predict' or "
                                        f"'predict_proba', got {name!r}")
            names.add(name)
        return names

    def matrix(self, inputs: list):
        names = self.validator.names
        tensors = [self.tensor(index, tensor) for index, tensor in enumerate(inputs)]
        given = [name for name, _, _ in tensors]
        if self.validator.name_set.issuperset(given) and len(given) == len(set(given)):
            missing = [name for name in names if name not in given]
            if missing:
                raise RequestError(422, f"inputs: missing features {missing[:5]} (send one "
                                        f"tensor [rows, {len(names)}], or one per feature)")
            shapes = {tuple(shape) for _, shape, _ in tensors}
            shape = shapes.pop() if len(shapes) == 1 else ()
            if not (len(shape) == 1 or shape[1:] == (1,)):
                raise RequestError(422, "inputs: per-feature tensors must all have shape "
                                        "[rows] or all [rows, 1]")
            rows = shape[0]
            columns = {name: data for name, _, data in tensors}
            # Interleave the columns into row-major order.
            values = [value for row in zip(*(columns[name] for name in names)) for value in row]
        elif len(tensors) == 1:
            name, shape, values = tensors[0]
            if len(shape) != 2 or shape[1] != len(names):
                raise RequestError(422, f"inputs[0].shape: expected [rows, {len(names)}] "
                                        f"(columns: {', '.join(names)}), got {shape}")
            rows = shape[0]
        else:
            unknown = [name for name in given if name not in names]
            raise RequestError(422, f"inputs: send one tensor [rows, {len(names)}], or one "
                                    f"per feature; unknown feature inputs {unknown[:5]}")
        if rows == 0:
            raise RequestError(422, "inputs: no rows: send at least one")
        if rows > self.settings.max_batch_rows:
            raise RequestError(413, f"{rows} rows in one request; the limit is "
                                    f"{self.settings.max_batch_rows} (MAX_BATCH_ROWS)")
        return self.validator.tensor_matrix(values, rows)

    def tensor(self, index: int, tensor) -> tuple:
        """The input's name, shape and flat data, checked against each other."""
        where = f"inputs[{index}]"
        if type(tensor) is not dict:
            raise RequestError(422, f"{where}: expected an object, got {json_type(tensor)}")
        for field in ("name", "shape", "datatype", "data"):
            if field not in tensor:
                raise RequestError(422, f"{where}.{field}: missing")
        name, shape, datatype = tensor["name"], tensor["shape"], tensor["datatype"]
        if type(name) is not str:
            raise RequestError(422, f"{where}.name: expected a string, got {json_type(name)}")
        if datatype not in NUMERIC_DATATYPES:
            raise RequestError(422, f"{where}.datatype: expected a numeric type such as FP64, "
                                    f"got {datatype!r}")
        if type(shape) is not list or not shape or not all(map(is_size, shape)):
            raise RequestError(422, f"{where}.shape: expected a list of sizes, got {shape!r}")
        shape = [int(size) for size in shape]
        data = tensor["data"]
        if type(data) is not list:
            raise RequestError(422, f"{where}.data: expected an array, got {json_type(data)}")
        data = flat(data)
        size = 1
        for dimension in shape:
            size *= dimension
        if size != len(data):
            raise RequestError(422, f"{where}: shape {shape} holds {size} values, "
                                    f"data has {len(data)}")
        if not ALLOWED_TYPES.issuperset(map(type, data)):
            position = next(i for i, value in enumerate(data) if type(value) not in ALLOWED_TYPES)
            raise RequestError(422, f"{where}.data[{position}]: expected a finite number or "
                                    f"null, got {json_type(data[position])}")
        return name, shape, data


def protocol_router(model, load_error: str, settings) -> APIRouter:
    """The protocol's GET routes: server and model health and metadata."""
    router = APIRouter(prefix="/v2", tags=["Open Inference Protocol (V2)"])
    model_path = f"/models/{settings.model_name}"
    not_loaded = {"error": f"model not loaded: {load_error}"}

    @router.get("", summary="Server metadata")
    async def server_metadata() -> dict:
        return {"name": settings.model_name, "version": __version__, "extensions": []}

    @router.get("/health/live", summary="Server live: the process answers")
    async def live() -> dict:
        return {"live": True}

    @router.get("/health/ready", summary="Server ready: 200 once the model is loaded, else 503")
    async def ready():
        return JSONResponse({"ready": model is not None}, status_code=200 if model else 503)

    @router.get(model_path, summary="Model metadata: input and output tensors")
    async def metadata():
        if model is None:
            return JSONResponse(not_loaded, status_code=503)
        return model_metadata(model, settings.model_name)

    @router.get(model_path + "/ready", summary="Model ready: 200 once loaded, else 503")
    async def model_ready():
        return JSONResponse({"name": settings.model_name, "ready": model is not None},
                            status_code=200 if model else 503)

    @router.get("/models/{name}", include_in_schema=False)
    @router.get("/models/{name}/ready", include_in_schema=False)
    @router.post("/models/{name}/infer", include_in_schema=False)
    async def unknown_model(name: str):
        return JSONResponse({"error": f"unknown model {name!r}: this server serves "
                                      f"{settings.model_name!r}"}, status_code=404)

    return router
