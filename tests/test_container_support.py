"""The container test infrastructure works end to end on this machine.

Builds a tiny image from the local base image with buildah, runs it with
podman, and pushes it to a real registry. Needs root and the packages from
scripts/install-system-deps.sh; the first run also makes the base image
(about a minute), later runs reuse it and the cached build layers.
"""

import pytest

from support.containers import BASE_IMAGE, LocalRegistry, free_port

pytestmark = pytest.mark.container

TAG = "localhost/container-support-test:latest"
SIX_VERSION = "1.17.0"

# Steps that hit the network come first so --layers caches them; the port,
# chosen per run, only changes the cheap metadata steps at the end.
DOCKERFILE = """\
ARG BASE_IMAGE=python:3.11-slim
FROM ${{BASE_IMAGE}}
RUN python -m venv /opt/venv \\
 && /opt/venv/bin/pip install --no-cache-dir six=={six}
ENV PATH=/opt/venv/bin:$PATH
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin app
USER 10001
WORKDIR /tmp
EXPOSE {port}
HEALTHCHECK --interval=30s --timeout=3s \\
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/')"
CMD ["python", "-m", "http.server", "{port}", "--bind", "127.0.0.1"]
"""


@pytest.fixture(scope="module")
def image(tools, tmp_path_factory):
    """Build the tiny image once for this module; yield (tag, port)."""
    port = free_port()
    context = tmp_path_factory.mktemp("ctx")
    (context / "Dockerfile").write_text(DOCKERFILE.format(port=port, six=SIX_VERSION))
    image_id = tools.build_image(context, TAG, {"BASE_IMAGE": BASE_IMAGE})
    assert len(image_id) == 64
    return TAG, port


def test_base_image_behaves_like_python_slim(tools):
    out = tools.podman(
        "run", "--rm", "--network", "host", BASE_IMAGE, "sh", "-c",
        "command -v python && python --version && pip --version"
        " && python -m venv /tmp/v && echo venv-ok",
    ).stdout
    assert "/usr/local/bin/python" in out
    assert "Python 3.11" in out
    assert "venv-ok" in out


def test_image_config(tools, image):
    tag, port = image
    config = tools.image_config(tag)
    assert config["User"] == "10001"
    assert f"{port}/tcp" in config["ExposedPorts"]
    assert config["Cmd"][:3] == ["python", "-m", "http.server"]
    # Only kept because build_image uses the docker format (OCI drops it).
    assert config["Healthcheck"]["Test"][0] == "CMD-SHELL"
    assert 0 < tools.image_size(tag) < 400 * 1024 * 1024


def test_run_serves_http_as_non_root(tools, image):
    tag, port = image
    with tools.run_container(tag, port=port) as container:
        assert container.get("/").status == 200
        assert container.healthcheck()
        assert tools.exec_in(container, ["id", "-u"]) == "10001"
        # pip ran through the proxy inside RUN: the package is in the venv.
        assert tools.exec_in(
            container, ["python", "-c", "import six; print(six.__version__)"]
        ) == SIX_VERSION
    assert not container.is_running()


def test_push_to_local_registry(tools, image):
    tag, _ = image
    with LocalRegistry(tools) as registry:
        assert registry.list_tags("template/support-test") == []
        ref = registry.push(tag, "template/support-test:v1")
        assert ref == f"{registry.host}/template/support-test:v1"
        assert registry.list_tags("template/support-test") == ["v1"]
