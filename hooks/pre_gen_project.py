"""Validate every answer before cookiecutter writes a single project file.

A failing check prints one line naming the option and the rule, and exits
non-zero; cookiecutter then deletes the half-made output directory.
"""
import json
import keyword
import re
import sys

# Rendered by cookiecutter. A raw string keeps JSON escapes intact, so any
# answer (quotes, backslashes) round-trips without breaking this script.
ANSWERS = json.loads(r"""{{ cookiecutter | jsonify }}""")

CHOICES = {
    "python_version": ["3.11", "3.12", "3.13"],
    "dataset": ["breast_cancer", "wine", "iris"],
    "model": ["random_forest", "logistic_regression"],
    "ci_provider": ["all", "github", "gitlab", "jenkins"],
    "dvc_remote": ["local", "s3", "gcs", "azure", "ssh"],
    "git_init": ["yes", "no"],
    "production_sync": ["manual", "auto"],
}

REMOTE_SCHEMES = {"s3": "s3://", "gcs": "gs://", "azure": "azure://", "ssh": "ssh://"}

SLUG = re.compile(r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$")
MODULE = re.compile(r"^[a-z_][a-z0-9_]*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# Registry: host with an optional port, then optional lowercase path parts.
REGISTRY = re.compile(
    r"^(localhost|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+"
    r"|[a-z0-9-]+)(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*$"
)
# Image repository path as the OCI distribution spec defines it.
IMAGE_NAME = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Words, digits, spaces and a little punctuation: the name appears in code,
# YAML and titles, where quotes, '#', ':' or backslashes would need escaping.
PROJECT_NAME = re.compile(r"^\w[\w .'()&+-]{0,49}$")
# Import names of the generated project's dependencies: a package with one of
# these names would hide the real library.
DEPENDENCY_MODULES = {
    "dvc", "fastapi", "flake8", "joblib", "matplotlib", "numpy", "onnx", "onnxruntime",
    "orjson", "pandas", "prometheus_client", "pydantic", "pytest", "ruamel", "scipy",
    "skl2onnx", "sklearn", "starlette", "uvicorn", "yaml",
}
GIT_URL = re.compile(r"^(https://\S+|ssh://\S+|git@[\w.-]+:\S+|file://\S+)$")
BUCKET_PATH = re.compile(r"^[a-z0-9][a-z0-9._-]*[a-z0-9](/[\w.-]+)*/?$")


class InvalidAnswer(Exception):
    """An answer breaks a rule; the message names the option and the rule."""


def fail(option, rule):
    raise InvalidAnswer(f"invalid answer for '{option}' ({ANSWERS.get(option)!r}): {rule}")


def check_text(option, max_length=200):
    value = ANSWERS[option]
    if not value.strip():
        fail(option, "must not be empty")
    if "\n" in value or "\r" in value:
        fail(option, "must be a single line")
    if len(value) > max_length:
        fail(option, f"must be at most {max_length} characters")


def check_choices():
    for option, allowed in CHOICES.items():
        if ANSWERS[option] not in allowed:
            fail(option, "must be one of " + ", ".join(allowed))


def check_names():
    if not SLUG.match(ANSWERS["project_slug"]):
        fail("project_slug", "must be 2-63 characters of lowercase letters, digits and '-', "
             "starting with a letter and not ending with '-'")
    module = ANSWERS["module_name"]
    if not MODULE.match(module):
        fail("module_name", "must be a lowercase Python identifier (letters, digits, '_')")
    if keyword.iskeyword(module) or keyword.issoftkeyword(module):
        fail("module_name", "must not be a Python keyword")
    if module in sys.stdlib_module_names or module in {"tests", "test"}:
        fail("module_name", "must not shadow a standard-library or test package")
    if module in DEPENDENCY_MODULES:
        fail("module_name", "must not shadow a dependency of the project ("
             + ", ".join(sorted(DEPENDENCY_MODULES)) + ")")


def check_dvc_remote():
    remote, url = ANSWERS["dvc_remote"], ANSWERS["dvc_remote_url"].strip()
    if not url:
        fail("dvc_remote_url", "must not be empty")
    if remote == "local":
        if "://" in url:
            fail("dvc_remote_url", "a 'local' remote is a directory path, not a URL")
        return
    scheme = REMOTE_SCHEMES[remote]
    if not url.startswith(scheme):
        fail("dvc_remote_url", f"a '{remote}' remote URL must start with {scheme}")
    rest = url[len(scheme):]
    if remote == "ssh":
        if "/" not in rest or not rest.split("/", 1)[0]:
            fail("dvc_remote_url", "an ssh remote must be ssh://[user@]host/path")
    elif not BUCKET_PATH.match(rest):
        fail("dvc_remote_url", f"must be {scheme}<bucket>[/path] with a valid bucket name")


def check_deployment():
    registry, image = ANSWERS["registry"], ANSWERS["image_name"]
    if not REGISTRY.match(registry):
        fail("registry", "must be host[:port][/namespace], lowercase, e.g. ghcr.io/my-org")
    if not IMAGE_NAME.match(image):
        fail("image_name", "must be lowercase letters, digits and single '.', '_', '-' or '/' "
             "separators, e.g. my-model")
    if len(f"{registry}/{image}") > 255:
        fail("image_name", "registry/image_name must be at most 255 characters")
    if not DNS_LABEL.match(ANSWERS["k8s_namespace"]):
        fail("k8s_namespace", "must be a DNS-1123 label: at most 63 lowercase letters, digits "
             "and '-', starting and ending with a letter or digit")
    if len(ANSWERS["k8s_namespace"]) > 63 - len("-production"):
        fail("k8s_namespace", "must be at most 52 characters: the overlays append "
             "'-staging' and '-production'")
    if not GIT_URL.match(ANSWERS["repo_url"]):
        fail("repo_url", "must be this repository's git URL (https://, ssh://, git@host:path, "
             "file://); Argo CD reads the manifests from it")
    gitops_url = ANSWERS["gitops_repo_url"]
    if gitops_url and not GIT_URL.match(gitops_url):
        fail("gitops_repo_url", "must be empty or a git URL (https://, ssh://, git@host:path, "
             "file://)")


def main():
    for option in ("project_name", "description", "author_name"):
        check_text(option)
    if not PROJECT_NAME.match(ANSWERS["project_name"]):
        fail("project_name", "must be at most 50 characters: letters, digits, spaces and "
             ".'()&+-_ (no quotes, '#', ':' or backslashes)")
    if not EMAIL.match(ANSWERS["author_email"]):
        fail("author_email", "must look like name@domain.tld")
    check_choices()
    check_names()
    check_dvc_remote()
    check_deployment()


if __name__ == "__main__":
    try:
        main()
    except InvalidAnswer as error:
        print(f"ERROR: {error}", file=sys.stderr)
        sys.exit(1)
