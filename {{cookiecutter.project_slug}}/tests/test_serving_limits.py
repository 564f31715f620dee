"""The served command's limits, over raw sockets: `python -m {{ cookiecutter.module_name }}.serving`
as deployed, with timeouts under a second, so that each test is quick.

Each test fails without its limit: the server would hold the connection,
buffer the header or count the request wrongly.
"""
import json
import time

import pytest
from served_command import (PATIENCE, answer_to, connect, get, samples, served,
                            status_of)
from waiting import wait_until

LIMITS = {"HEADER_TIMEOUT_SECONDS": "0.4", "BODY_TIMEOUT_SECONDS": "0.6",
          "MAX_HEADER_BYTES": "4096", "MAX_CONNECTIONS": "4"}
BODY = json.dumps({"signal": 0.9, "noise": -0.2, "count": 4}).encode()


@pytest.fixture(scope="module")
def server(trained_model):
    with served(trained_model, LIMITS) as address:
        yield address


def post_head(length: int) -> bytes:
    return (f"POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def predict_count(address, status: int) -> float:
    return samples(address).get('http_requests_total{route="/predict",status="%d"}' % status, 0)


def test_the_command_serves_predictions_over_http(server):
    with connect(server) as sock:
        sock.sendall(post_head(len(BODY)).replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
                     + BODY)
        answer = answer_to(sock)
    assert status_of(answer) == 200 and b'"predictions"' in answer


def test_headers_over_the_limit_in_one_piece_get_431(server):
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\nX-Big: " + b"a" * 8000 + b"\r\n\r\n")
        assert status_of(answer_to(sock)) == 431
    assert get(server, "/health")[0] == 200


def test_a_64_mb_header_is_refused_before_it_is_received(server):
    sent = 0
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\nX-Big: ")
        try:
            while sent < 64 * 2**20:
                sent += sock.send(b"a" * 65536)
            answer_to(sock)  # a server without the limit waits for more: the read times out
        except (BrokenPipeError, ConnectionResetError):
            pass
    assert sent < 16 * 2**20, f"the server took {sent} header bytes"
    assert get(server, "/health")[0] == 200


def test_a_silent_connection_is_closed_after_the_header_timeout(server):
    with connect(server) as sock:
        started = time.monotonic()
        assert answer_to(sock) == b""
    assert time.monotonic() - started < PATIENCE


def test_headers_sent_too_slowly_get_408(server):
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n")
        assert status_of(answer_to(sock)) == 408


def test_a_body_sent_too_slowly_gets_408_and_counts_as_499(server):
    before = predict_count(server, 499)
    with connect(server) as sock:
        sock.sendall(post_head(len(BODY)) + BODY[:10])
        assert status_of(answer_to(sock)) == 408
    assert predict_count(server, 499) == before + 1
    assert predict_count(server, 500) == 0


def test_a_client_leaving_mid_upload_counts_as_499_not_500(server):
    before = predict_count(server, 499)
    with connect(server) as sock:
        sock.sendall(post_head(len(BODY)) + BODY[:10])
    wait_until(lambda: predict_count(server, 499) != before, PATIENCE)
    assert predict_count(server, 499) == before + 1
    assert predict_count(server, 500) == 0


def test_latency_counts_from_the_last_byte_of_the_body(server):
    latency = 'http_request_duration_seconds_sum{route="/predict"}'
    before = samples(server).get(latency, 0)
    with connect(server) as sock:
        sock.sendall(post_head(len(BODY)).replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
                     + BODY[:10])
        time.sleep(0.3)  # a slow upload, within BODY_TIMEOUT_SECONDS
        sock.sendall(BODY[10:])
        assert status_of(answer_to(sock)) == 200
    assert samples(server)[latency] - before < 0.25


def test_connections_beyond_max_connections_get_503(server):
    idle = [connect(server) for _ in range(int(LIMITS["MAX_CONNECTIONS"]))]
    try:
        time.sleep(0.1)  # let the server accept them
        with connect(server) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            assert status_of(answer_to(sock)) == 503
    finally:
        for sock in idle:
            sock.close()
    time.sleep(0.1)
    assert get(server, "/health")[0] == 200
