"""A real S3 API server (moto_server) on 127.0.0.1 for the DVC remote tests."""
import contextlib
import socket
import subprocess
import sys
from pathlib import Path

import boto3

from support.processes import free_port, wait_for

# What the CI secrets hold in these tests: moto accepts any key.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@contextlib.contextmanager
def s3_server(bucket: str):
    """Yield the endpoint URL of a fresh server holding an empty ``bucket``."""
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"

    def listening() -> bool:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True

    try:
        wait_for("moto_server to listen", listening, timeout=30, process=process, interval=0.2)
        client(endpoint).create_bucket(Bucket=bucket)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


def client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])


def keys(endpoint: str, bucket: str) -> list:
    listed = client(endpoint).list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listed.get("Contents", [])]
