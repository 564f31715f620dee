"""The serving image installs requirements-serve.txt; it must agree with pyproject.toml."""
import re
import tomllib

from conftest import PROJECT_ROOT

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)$")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines) -> dict:
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            match = PIN.match(line)
            assert match, f"not an exact pin: {line!r}"
            found[normalized(match.group(1))] = match.group(2)
    return found


def test_image_requirements_pin_the_serve_extra_exactly():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    serve = pins(project["optional-dependencies"]["serve"])
    image = pins((PROJECT_ROOT / "requirements-serve.txt").read_text().splitlines())
    assert {name: image.get(name) for name in serve} == serve


def test_image_requirements_carry_no_training_libraries():
    image = pins((PROJECT_ROOT / "requirements-serve.txt").read_text().splitlines())
    assert not {"scikit-learn", "pandas", "dvc", "skl2onnx", "onnx"} & set(image)
