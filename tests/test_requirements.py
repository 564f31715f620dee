"""The test environment runs generated code, so it must pin what projects pin."""
import re

from conftest import TEMPLATE_ROOT, bake

PIN = re.compile(r'"([A-Za-z0-9_.\-\[\]]+)==([^"]+)"')


def pins(text: str) -> dict:
    return {name.lower(): version for name, version in PIN.findall(text)}


def test_requirements_match_generated_pins(tmp_path):
    generated = pins((bake(tmp_path, dvc_remote="s3", dvc_remote_url="s3://my-bucket/p")
                      / "pyproject.toml").read_text())
    lines = (TEMPLATE_ROOT / "tests" / "requirements.txt").read_text().splitlines()
    ours = dict(
        line.split("==", 1) for line in (line.split("#")[0].strip() for line in lines) if line
    )
    ours = {name.lower(): version for name, version in ours.items()}
    assert generated, "no pins found in the generated pyproject.toml"
    mismatched = {name: (version, ours.get(name)) for name, version in generated.items()
                  if ours.get(name) != version}
    assert mismatched == {}, f"generated pin vs tests/requirements.txt: {mismatched}"


def test_every_generated_dependency_is_pinned(tmp_path):
    text = (bake(tmp_path) / "pyproject.toml").read_text()
    block = re.findall(r'^\s+"([^"]+)",$', text, flags=re.MULTILINE)
    unpinned = [spec for spec in block if "==" not in spec]
    assert block and unpinned == []
