"""The s3 remote option pushes and pulls for real, against an S3 API server
(moto) on 127.0.0.1 that this test starts and stops."""
import hashlib
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from conftest import bake, run

BUCKET = "models-bucket"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def s3_server():
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto_server did not start")
                time.sleep(0.2)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_s3_remote_push_and_pull(tmp_path, s3_server, monkeypatch):
    credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_DEFAULT_REGION": "us-east-1"}
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3", endpoint_url=s3_server)
    s3.create_bucket(Bucket=BUCKET)

    project = bake(tmp_path, dvc_remote="s3", dvc_remote_url=f"s3://{BUCKET}/tumor")
    assert f"url = s3://{BUCKET}/tumor" in (project / ".dvc" / "config").read_text()
    # What a user of MinIO or another S3-compatible store does, kept out of git.
    run(["python", "-m", "dvc", "remote", "modify", "--local", "storage", "endpointurl",
         s3_server], project)
    run(["make", "repro"], project)
    model = project / "models" / "model.joblib"
    before = digest(model)

    pushed = run(["python", "-m", "dvc", "push"], project).stdout
    assert "pushed" in pushed
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys and all(key.startswith("tumor/files/md5/") for key in keys)

    # A fresh machine: no cache, no outputs. Pull must restore the same bytes.
    shutil.rmtree(project / ".dvc" / "cache")
    shutil.rmtree(project / "data" / "prepared")
    model.unlink()
    run(["python", "-m", "dvc", "pull"], project)
    assert digest(model) == before
    assert (project / "data" / "prepared" / "train.csv").exists()
    status = run(["python", "-m", "dvc", "status", "--cloud"], project).stdout
    assert "Cache and remote 'storage' are in sync" in status
