"""Polling, for tests that wait on another process or thread."""
import time


def wait_until(condition, timeout: float, interval: float = 0.05) -> bool:
    """Call ``condition`` every ``interval`` seconds until it returns true or
    ``timeout`` seconds have passed; whether it did. The caller asserts, with
    a message that says what it waited for."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True
