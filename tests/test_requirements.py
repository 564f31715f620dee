"""The test environment runs generated code, so it must pin what projects pin."""
import re
import tomllib

from support.project import TEMPLATE_ROOT, bake


def requirement_pins(specs) -> dict:
    pins = {}
    for spec in specs:
        name, _, version = spec.partition("==")
        pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def template_test_pins() -> dict:
    lines = (TEMPLATE_ROOT / "tests" / "requirements.txt").read_text().splitlines()
    specs = [line.split("#")[0].strip() for line in lines]
    return requirement_pins(re.sub(r"\[.*\]", "", spec) for spec in specs if spec)


def installed_by_default(pyproject: dict) -> list:
    """The project's dependencies plus its default groups: what `uv sync` installs."""
    groups = pyproject["dependency-groups"]
    return pyproject["project"]["dependencies"] + [
        spec for group in pyproject["tool"]["uv"]["default-groups"] for spec in groups[group]]


def test_requirements_match_generated_pins(tmp_path):
    project = bake(tmp_path, dvc_remote="s3", dvc_remote_url="s3://my-bucket/p")
    generated = requirement_pins(installed_by_default(
        tomllib.loads((project / "pyproject.toml").read_text())))
    ours = template_test_pins()
    assert "dvc-s3" in generated and "cruft" in generated
    mismatched = {name: (version, ours.get(name)) for name, version in generated.items()
                  if ours.get(name) != version}
    assert mismatched == {}, f"generated pin vs tests/requirements.txt: {mismatched}"


def test_every_generated_dependency_is_pinned(tmp_path):
    pyproject = tomllib.loads((bake(tmp_path) / "pyproject.toml").read_text())
    specs = pyproject["project"]["dependencies"] + [
        spec for group in pyproject["dependency-groups"].values() for spec in group]
    unpinned = [spec for spec in specs if "==" not in spec]
    assert len(specs) > 20 and unpinned == []


def test_one_uv_version_everywhere(tmp_path):
    """tests/requirements.txt pins uv; the project's minimum uv and the image's
    uv are that version."""
    uv = template_test_pins()["uv"]
    project = bake(tmp_path)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["tool"]["uv"]["required-version"] == f">={uv}"
    assert f"ARG UV_IMAGE=ghcr.io/astral-sh/uv:{uv}\n" in (project / "Dockerfile").read_text()
