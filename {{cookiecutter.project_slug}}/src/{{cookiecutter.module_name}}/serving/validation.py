"""Turn a request body into the model's input matrix, or a 4xx naming the problem.

A valid body is decoded and checked in one pass by msgspec
(serving/typed_decoding.py). Any other body comes here: parsed by orjson,
checked with a few C-level passes, and only a failing request walks its rows
to name the problem.

Body shape: one object keyed by feature name, or a non-empty list of them.
A feature may be null (missing: the model imputes it as in training).
"""
import json
import math
from itertools import chain, islice
from operator import itemgetter

import numpy as np
import orjson

from {{ cookiecutter.module_name }}.serving.typed_decoding import decoded_values, rows_decoder


class RequestError(Exception):
    """A client error: HTTP ``status`` and a message naming the problem."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


class NonFiniteToken:
    """Python's json module accepts NaN and Infinity; keep them to reject by field."""

    def __init__(self, token: str):
        self.token = token


ALLOWED_TYPES = frozenset({int, float, type(None)})
INFINITIES = frozenset({math.inf, -math.inf})
SET_CHECK_LIMIT = 64  # values; where numpy's pass gets cheaper (measured)
JSON_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean",
                   int: "number", float: "number", type(None): "null",
                   NonFiniteToken: "a non-finite number"}


def json_type(value) -> str:
    return JSON_TYPE_NAMES.get(type(value), type(value).__name__)


SHOWN_NAMES = 5  # an error message names at most this many fields


def shorten(names: list, limit: int = SHOWN_NAMES) -> str:
    shown = ", ".join(repr(name) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_content_type(content_type: str) -> None:
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise RequestError(415, f"Content-Type must be application/json, got {content_type!r}")


def parse_json(body: bytes):
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    # orjson refuses NaN, Infinity and integers beyond 64 bits. The standard
    # parser accepts them, so validation can name the field, or it words the
    # syntax error. Integers are read as floats: a huge one becomes inf (named
    # by validation) rather than an error about Python's digit limit.
    try:
        return json.loads(body, parse_constant=NonFiniteToken, parse_int=float)
    except (ValueError, RecursionError) as error:
        raise RequestError(400, f"malformed JSON: {error}") from None


def rows_of(payload, max_rows: int) -> list:
    """One object -> one row; a list -> its rows; anything else is an error."""
    if isinstance(payload, dict):
        return [payload]
    if not isinstance(payload, list):
        raise RequestError(
            422, f"body must be an object keyed by feature name or a list of them, "
                 f"got {json_type(payload)}")
    if not payload:
        raise RequestError(422, "body is an empty list: send at least one row")
    if len(payload) > max_rows:
        raise RequestError(
            413, f"{len(payload)} rows in one request; the limit is {max_rows} (MAX_BATCH_ROWS)")
    return payload


def float_matrix(values: list, rows: int, columns: int) -> np.ndarray:
    """Numbers or None, row-major, as a float64 matrix (None, a missing value, becomes NaN)."""
    try:
        # Numbers only, the usual request: np.fromiter reads them without
        # np.array's pass over the values to find their types and shape.
        matrix = np.fromiter(values, np.float64, len(values))
    except TypeError:  # a None: np.array makes it NaN
        matrix = np.array(values, dtype=np.float64)
    return matrix.reshape(rows, columns)


class RowValidator:
    """Checks rows against the schema's features and builds a float64 matrix."""

    def __init__(self, features: list):
        self.features: list = features
        self.names = [feature.name for feature in features]
        self.name_set = frozenset(self.names)
        # itemgetter of one name returns a bare value, of several a tuple.
        getter = itemgetter(*self.names)
        self.values_of = getter if len(self.names) > 1 else lambda row: (getter(row),)
        self.integer_columns = [i for i, feature in enumerate(features) if feature.integer]
        self.decoder = rows_decoder(self.names)

    def decoded_values(self, body: bytes):
        """A valid body's values, row-major in feature order, and its number of
        rows; None for any other body."""
        return decoded_values(self.decoder, body)

    def row_problem(self, index: int, row):
        """Why ``row`` is invalid, or None. Only called once the fast path failed."""
        where = f"rows[{index}]"
        if not isinstance(row, dict):
            return f"{where}: expected an object keyed by feature name, got {json_type(row)}"
        if len(row) > len(self.names):  # stop before looking at every key of a huge row
            unknown = list(islice((key for key in row if key not in self.name_set),
                                  SHOWN_NAMES + 1))
            shown = ", ".join(repr(name) for name in unknown[:SHOWN_NAMES])
            more = ", ..." if len(unknown) > SHOWN_NAMES else ""
            return (f"{where}: unknown fields {shown}{more} ({len(row)} fields; "
                    f"the model takes {len(self.names)})")
        missing = [name for name in self.names if name not in row]
        unknown = [key for key in row if key not in self.name_set]
        if missing or unknown:
            parts = [f"missing fields {shorten(missing)}"] if missing else []
            parts += [f"unknown fields {shorten(unknown)}"] if unknown else []
            return f"{where}: {'; '.join(parts)}"
        for name in self.names:
            value = row[name]
            if type(value) not in ALLOWED_TYPES:
                shown = value.token if isinstance(value, NonFiniteToken) else json_type(value)
                return f"{where}.{name}: expected a finite number or null, got {shown}"
        return None

    def first_problem(self, rows: list) -> RequestError:
        for index, row in enumerate(rows):
            problem = self.row_problem(index, row)
            if problem:
                return RequestError(422, problem)
        return RequestError(422, "invalid rows")

    def matrix(self, rows: list) -> np.ndarray:
        try:
            values = list(chain.from_iterable(map(self.values_of, rows)))
        except (KeyError, TypeError):  # a missing field, or a row that is not an object
            raise self.first_problem(rows) from None
        # Every row holds every feature; equal sizes mean no unknown fields either.
        if sum(map(len, rows)) != len(values):
            raise self.first_problem(rows)
        if not ALLOWED_TYPES.issuperset(map(type, values)):
            raise self.first_problem(rows)
        return self.tensor_matrix(values, len(rows))

    def tensor_matrix(self, values: list, rows: int) -> np.ndarray:
        """Values in row-major order, each already an int, a float or None, as
        the model's input matrix (None, a missing value, becomes NaN)."""
        matrix = float_matrix(values, rows, len(self.names))
        # 1e999 parses to inf. On a few values a set lookup each is cheaper
        # than numpy's fixed cost per call; on many, numpy's pass is.
        if len(values) <= SET_CHECK_LIMIT:
            infinite = not INFINITIES.isdisjoint(values)
        else:
            infinite = np.isinf(matrix).any()
        if infinite:
            index = next(i for i, value in enumerate(values) if value in INFINITIES)
            row, column = divmod(index, len(self.names))
            raise RequestError(422, f"rows[{row}].{self.names[column]}: "
                                    "expected a finite number, got a value out of range")
        return self.checked_matrix(matrix)

    def typed_matrix(self, values: list, rows: int) -> np.ndarray:
        """The model's input matrix from decoded values (serving/typed_decoding.py):
        row-major, all finite numbers or None."""
        return self.checked_matrix(float_matrix(values, rows, len(self.names)))

    def checked_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """The checks both ways run (typed_decoding.py's and the one above):
        each integer feature holds whole numbers (or NaN). A rule of your own
        on the values goes here, so that no valid-looking body skips it."""
        for column in self.integer_columns:
            values = matrix[:, column]
            fractional = values != np.floor(values)  # NaN != NaN: mask it out below
            fractional &= ~np.isnan(values)
            if fractional.any():
                row = int(np.flatnonzero(fractional)[0])
                raise RequestError(422, f"rows[{row}].{self.names[column]}: expected an "
                                        f"integer, got {float(values[row])}")
        return matrix
