"""One small HTTP client (the standard library's urllib) for the hosting and CI APIs.

`make retrain` opens pull/merge requests and the retrain relay starts CI
pipelines through it. Every call has a timeout and reads a bounded answer.
"""
import json
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT_SECONDS = 15
MAX_ANSWER_BYTES = 1 << 20


class ApiError(Exception):
    """An API call failed; the message names the request and the answer."""


def call(method: str, url: str, headers: dict, body: bytes = None):
    """Send one request; return (status, answer bytes) or raise ApiError."""
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"User-Agent": "retrain", **headers})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
            return answer.status, answer.read(MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as error:
        detail = error.read(2000).decode(errors="replace").strip()
        raise ApiError(f"{method} {url} answered {error.code} {error.reason}: {detail}") from None
    except (urllib.error.URLError, OSError) as error:
        raise ApiError(f"{method} {url} failed: {getattr(error, 'reason', error)}") from None


def call_json(method: str, url: str, headers: dict, payload=None):
    """Send ``payload`` as JSON (if any); return the decoded JSON answer (None if empty)."""
    body = None if payload is None else json.dumps(payload).encode()
    if body is not None:
        headers = {**headers, "Content-Type": "application/json"}
    _, answer = call(method, url, headers, body)
    return json.loads(answer) if answer.strip() else None


def form(fields: dict) -> bytes:
    """Fields as an application/x-www-form-urlencoded body."""
    return urllib.parse.urlencode(fields).encode()
