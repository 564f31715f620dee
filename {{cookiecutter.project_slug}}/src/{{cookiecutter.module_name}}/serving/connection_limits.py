"""uvicorn's httptools protocol, plus the limits it lacks.

uvicorn bounds idle keep-alive connections (timeout_keep_alive) and requests
in flight (limit_concurrency, used by __main__.py), but with httptools it
buffers a request line and headers of any size, and waits forever for a
client that sends them, or its body, slowly. Each connection here gets:

- MAX_HEADER_BYTES for the request line and headers: beyond it, 431 and close
  (checked as bytes arrive, so a huge header is never held in memory);
- HEADER_TIMEOUT_SECONDS to send them, from the connection's start or the
  request's first byte: 408 and close;
- BODY_TIMEOUT_SECONDS to send the body once the headers are in: 408 and
  close (the app sees a disconnect and counts the request as 499).

uvicorn's other protocol, the pure-Python h11, does bound headers
(h11_max_incomplete_event_size) but has no read timeout either, and parses
each request in Python rather than C.
"""
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeadersTooLarge(Exception):
    """Stops the parser: the headers just completed are over the limit."""


def refusal(status: int, reason: str) -> bytes:
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(reason)}\r\nconnection: close\r\n\r\n{reason}").encode()


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args, max_header_bytes: int, header_timeout: float,
                 body_timeout: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_header_bytes = max_header_bytes
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.reading_headers = True
        self.header_bytes = 0  # received since the current request began
        self.read_timer = None

    def arm(self, seconds: float) -> None:
        self.disarm()
        self.read_timer = self.loop.call_later(seconds, self.read_timed_out)

    def disarm(self) -> None:
        if self.read_timer is not None:
            self.read_timer.cancel()
            self.read_timer = None

    def refuse(self, status: int, reason: str) -> None:
        self.disarm()
        if not self.transport.is_closing():
            self.transport.write(refusal(status, reason))
            self.transport.close()

    def read_timed_out(self) -> None:
        self.read_timer = None
        if self.reading_headers and self.header_bytes == 0:
            self.transport.close()  # nothing asked: nothing to answer
        elif self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # answered already; the body is still dribbling in
        else:
            self.refuse(408, "Request Timeout")

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self.arm(self.header_timeout)

    def connection_lost(self, exc) -> None:
        self.disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.reading_headers:
            self.header_bytes += len(data)
        super().data_received(data)
        if self.transport.is_closing():
            return
        # A request that came whole needs no timer; one still arriving gets one.
        if self.reading_headers:
            if self.header_bytes > self.max_header_bytes:
                self.refuse(431, "Request Header Fields Too Large")
            elif self.header_bytes and self.read_timer is None:
                self.arm(self.header_timeout)
        elif self.read_timer is None:
            self.arm(self.body_timeout)

    def send_400_response(self, msg: str) -> None:
        if not self.transport.is_closing():  # not after refuse()
            super().send_400_response(msg)

    def on_headers_complete(self) -> None:
        # header_bytes may include the body's start; count exactly only then.
        if self.header_bytes > self.max_header_bytes and self.exact_header_bytes() > \
                self.max_header_bytes:
            self.refuse(431, "Request Header Fields Too Large")
            raise HeadersTooLarge()
        self.reading_headers = False
        self.header_bytes = 0
        self.disarm()  # data_received() arms the body timer if the body is still to come
        super().on_headers_complete()

    def exact_header_bytes(self) -> int:
        return len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.reading_headers = True
        self.disarm()
        # Answered before the body ended (a 413 or 415): the body's bytes
        # cancelled uvicorn's keep-alive timer, and nothing else would close
        # the idle connection.
        if self.cycle is not None and self.cycle.response_complete \
                and self.timeout_keep_alive_task is None and not self.transport.is_closing():
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler)
