"""The usual request, valid, decoded and checked in one pass in C.

msgspec decodes a prediction body straight into typed structs: every feature
present, each a finite number or null, no unknown field; for V2, one tensor of
numbers with a name, a shape and a datatype. For a valid body that is all the
checking validation.py does, for less: a whole request took 0.82x the
instructions of the hand-written way with one row, 0.70x with 100 (the
template's bench/bench_serving_instructions.py).

A body that fails any check here is not answered from here: the endpoints send
it the hand-written way (validation.py, open_inference.py), which finds the
problem and names the field. So msgspec's own messages never reach a client.
"""
from itertools import chain
from typing import Annotated, Literal, Optional, Union

import msgspec

# A finite number, or null for a missing value (the model imputes it). msgspec
# refuses numbers beyond float's range (1e999), which orjson reads as infinity.
Value = Optional[float]


def rows_decoder(feature_names: list) -> msgspec.json.Decoder:
    """Decodes a /predict body, one row or a list of them, into structs whose
    fields are the features in the schema's order."""
    # Attribute names must be identifiers; feature names need not be.
    attributes = [f"feature_{index}" for index in range(len(feature_names))]
    row = msgspec.defstruct("Row", [(attribute, Value) for attribute in attributes],
                            rename=dict(zip(attributes, feature_names)),
                            forbid_unknown_fields=True)
    return msgspec.json.Decoder(Union[list[row], row])


def decoded(decoder: msgspec.json.Decoder, body: bytes):
    """What ``decoder`` makes of the body, or None when it is not a valid one."""
    try:
        return decoder.decode(body)
    except msgspec.MsgspecError:
        return None


def decoded_values(decoder: msgspec.json.Decoder, body: bytes):
    """The body's values, row after row, each row in feature order, and the
    number of rows; None when the body is not a valid one."""
    rows = decoded(decoder, body)
    if rows is None:
        return None
    if type(rows) is not list:
        rows = [rows]
    return list(chain.from_iterable(map(msgspec.structs.astuple, rows))), len(rows)


class Tensor(msgspec.Struct):
    name: str
    shape: list[Annotated[int, msgspec.Meta(ge=0)]]
    datatype: str
    data: list[Value]  # flat: nested data goes the hand-written way


class RequestedOutput(msgspec.Struct):
    name: Literal["predict", "predict_proba"]


class InferRequest(msgspec.Struct):
    """The protocol's request; fields it does not use (parameters) are ignored."""
    inputs: list[Tensor]
    id: Optional[str] = None
    outputs: Optional[list[RequestedOutput]] = None


INFER_REQUEST = msgspec.json.Decoder(InferRequest)


def decoded_infer_request(body: bytes):
    """The V2 request, or None when the body is not a valid one in this form."""
    return decoded(INFER_REQUEST, body)
