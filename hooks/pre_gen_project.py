"""Validate every answer before cookiecutter writes a single project file.

A failing check prints one line naming the option and the rule, and exits
non-zero; cookiecutter then deletes the half-made output directory. Choice
options need no check here: cookiecutter refuses a value outside the list.
"""
import json
import keyword
import re
import sys
import unicodedata

from slugify import slugify  # python-slugify: cookiecutter's own dependency

# Rendered by cookiecutter. A raw string keeps JSON escapes intact, so any
# answer (quotes, backslashes) round-trips without breaking this script.
ANSWERS = json.loads(r"""{{ cookiecutter | jsonify }}""")

REMOTE_SCHEMES = {"s3": "s3://", "gcs": "gs://", "azure": "azure://", "ssh": "ssh://"}

# Kubernetes caps names and label values at 63 characters. The namespace gets
# '-staging'/'-production' appended, and so does the slug: the Argo CD
# Applications are named <slug>-production and Argo CD copies that into a label.
NAME_MAX = 63 - len("-production")
SLUG = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
MODULE = re.compile(r"[a-z_][a-z0-9_]*")
# The module name appears in imports and `python -m` lines of the generated
# code; longer names push those past flake8's line length.
MODULE_MAX = 30
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
# Registry: host with an optional port, then optional lowercase path parts.
REGISTRY = re.compile(
    r"(localhost|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+"
    r"|[a-z0-9-]+)(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*"
)
# Image repository path as the OCI distribution spec defines it.
IMAGE_NAME = re.compile(r"[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# URLs and paths land unquoted in .dvc/config and in Makefile and shell lines,
# where '$', quotes, spaces, ';', '#' or '(' would be read as syntax. These
# characters mean the same everywhere; anything else can be percent-encoded.
URL_SAFE = re.compile(r"[A-Za-z0-9._~:/@%+-]+")
URL_SAFE_RULE = ("must contain only URL-safe characters (letters, digits and - . _ ~ : / @ % +; "
                 "percent-encode anything else)")
GIT_URL = re.compile(r"(https://|ssh://|file://|git@[A-Za-z0-9.-]+:)\S+")
BUCKET_PATH = re.compile(r"[a-z0-9][a-z0-9._-]*[a-z0-9](/[\w.-]+)*/?")
# Import names of the generated project's dependencies: a package with one of
# these names would hide the real library (tests/test_answers.py keeps the
# list complete for every pinned dependency).
DEPENDENCY_MODULES = {
    "cruft", "dvc", "dvc_azure", "dvc_gs", "dvc_s3", "dvc_ssh", "fastapi", "flake8", "gto",
    "httptools",
    "httpx2", "joblib", "markdown_it", "matplotlib", "mpl_toolkits", "msgspec", "numpy", "onnx",
    "onnxruntime", "orjson", "pandas", "pre_commit", "pre_commit_hooks", "prometheus_client",
    "py", "pydantic", "pylab", "pytest", "ruamel", "scipy", "skl2onnx", "sklearn", "starlette",
    "uvicorn", "uvloop", "xdist", "yaml",
}


class InvalidAnswer(Exception):
    """An answer breaks a rule; the message names the option and the rule."""


def fail(option, rule):
    raise InvalidAnswer(f"invalid answer for '{option}' ({ANSWERS.get(option)!r}): {rule}")


def is_control(character):
    # Cc/Cf/Cs/Co/Cn: control, format (bidi overrides), surrogate, private, unassigned;
    # Zl/Zp: the Unicode line and paragraph separators, which YAML reads as line breaks.
    category = unicodedata.category(character)
    return category[0] == "C" or category in {"Zl", "Zp"}


def check_characters():
    """Every answer lands on one line of some file: no newline or escape may hide in it."""
    for option, value in ANSWERS.items():
        if option.startswith("_") or not isinstance(value, str):
            continue
        for character in value:
            if is_control(character):
                fail(option, f"must not contain a control character U+{ord(character):04X} "
                     "(answers are single lines of printable text)")
            if ord(character) > 0xFFFF:
                # JSON escapes them as surrogate pairs, which TOML and YAML refuse.
                fail(option, f"must not contain emoji or other characters above U+FFFF "
                     f"(U+{ord(character):04X})")


def check_text(option, max_length=200):
    value = ANSWERS[option]
    if not value.strip():
        fail(option, "must not be empty")
    if value != value.strip():
        fail(option, "must not start or end with a space")
    if len(value) > max_length:
        fail(option, f"must be at most {max_length} characters")


def check_slug():
    slug, name = ANSWERS["project_slug"], ANSWERS["project_name"]
    if not slugify(name) and not SLUG.fullmatch(slug):
        # The default slug is made from the name; this name gives none.
        raise InvalidAnswer(
            f"invalid answer for 'project_slug': project_name {name!r} has no letters or "
            "digits to make one from; give one (answer its prompt, or add e.g. "
            "project_slug=fraud-model to the command)")
    if not SLUG.fullmatch(slug):
        fail("project_slug", "must be lowercase letters, digits and '-', starting and ending "
             "with a letter or digit")
    if len(slug) > NAME_MAX:
        fail("project_slug", f"must be at most {NAME_MAX} characters: the Argo CD "
             "Applications append '-production' and Kubernetes labels hold 63")


def check_module():
    module = ANSWERS["module_name"]
    if not MODULE.fullmatch(module):
        fail("module_name", "must be a lowercase Python identifier (letters, digits, '_'; "
             "not starting with a digit)")
    if len(module) > MODULE_MAX:
        fail("module_name", f"must be at most {MODULE_MAX} characters: it appears in the "
             "generated code's imports and commands")
    if keyword.iskeyword(module) or keyword.issoftkeyword(module):
        fail("module_name", "must not be a Python keyword")
    if module in sys.stdlib_module_names or module in {"tests", "test"}:
        fail("module_name", "must not shadow a standard-library or test package")
    if module in DEPENDENCY_MODULES:
        fail("module_name", "must not shadow a dependency of the project ("
             + ", ".join(sorted(DEPENDENCY_MODULES)) + ")")


def check_url_characters(option):
    value = ANSWERS[option]
    if value and not URL_SAFE.fullmatch(value):
        fail(option, URL_SAFE_RULE)


def check_dvc_remote():
    remote, url = ANSWERS["dvc_remote"], ANSWERS["dvc_remote_url"]
    if not url:
        fail("dvc_remote_url", "must not be empty")
    check_url_characters("dvc_remote_url")
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
    elif not BUCKET_PATH.fullmatch(rest):
        fail("dvc_remote_url", f"must be {scheme}<bucket>[/path] with a valid bucket name")


def check_deployment():
    registry, image = ANSWERS["registry"], ANSWERS["image_name"]
    if not REGISTRY.fullmatch(registry):
        fail("registry", "must be host[:port][/namespace], lowercase, e.g. ghcr.io/my-org")
    if not IMAGE_NAME.fullmatch(image):
        fail("image_name", "must be lowercase letters, digits and single '.', '_', '-' or '/' "
             "separators, e.g. my-model")
    if len(f"{registry}/{image}") > 255:
        fail("image_name", "registry/image_name must be at most 255 characters")
    if not DNS_LABEL.fullmatch(ANSWERS["k8s_namespace"]):
        fail("k8s_namespace", "must be a DNS-1123 label: at most 63 lowercase letters, digits "
             "and '-', starting and ending with a letter or digit")
    if len(ANSWERS["k8s_namespace"]) > NAME_MAX:
        fail("k8s_namespace", f"must be at most {NAME_MAX} characters: the overlays append "
             "'-staging' and '-production'")
    for option in ("repo_url", "gitops_repo_url"):
        check_url_characters(option)
    if not GIT_URL.fullmatch(ANSWERS["repo_url"]):
        fail("repo_url", "must be this repository's git URL (https://, ssh://, git@host:path, "
             "file://); Argo CD reads the manifests from it")
    gitops_url = ANSWERS["gitops_repo_url"]
    if gitops_url and not GIT_URL.fullmatch(gitops_url):
        fail("gitops_repo_url", "must be empty or a git URL (https://, ssh://, git@host:path, "
             "file://)")


def main():
    check_characters()
    check_text("project_name", max_length=100)
    for option in ("description", "author_name"):
        check_text(option)
    if not EMAIL.fullmatch(ANSWERS["author_email"]):
        fail("author_email", "must look like name@domain.tld")
    check_slug()
    check_module()
    check_dvc_remote()
    check_deployment()


if __name__ == "__main__":
    try:
        main()
    except InvalidAnswer as error:
        print(f"ERROR: {error}", file=sys.stderr)
        sys.exit(1)
