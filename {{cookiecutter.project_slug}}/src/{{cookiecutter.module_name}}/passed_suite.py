"""`make test`: run the test suite, unless main's pipeline already passed it on these files.

The suite's result depends on the files it can read, the locked packages
(uv.lock, one of those files) and the Python that runs it. So each pass is
recorded under a key made of exactly those, and main's pipeline keeps its
records in the DVC remote (`make push-data`). A pull request whose files
equal a passed main's, apart from Markdown and the image tag that `make
deploy` writes, finds that record (`make pull`) and says so instead of
running the same suite again: a README change takes seconds.

Anything else runs the suite: any other changed file, uncommitted or new
files, another Python, pytest arguments (only a whole suite's pass counts),
or no access to the remote (a fork). Only main's pipeline can
write records: pull requests get read-only credentials.

    python -m {{ cookiecutter.module_name }}.passed_suite test [pytest arguments]
    python -m {{ cookiecutter.module_name }}.passed_suite fetch|upload   (make pull, make push-data)
"""
import hashlib
import json
import platform
import re
import subprocess
import sys
from pathlib import Path

PASSED = Path("build/passed-suite")  # this checkout's passes, for make push-data
PULLED = PASSED / "pulled"  # main's passes, fetched by make pull
REMOTE_FOLDER = "passed-suite"
# The overlays' image reference is written by `make deploy` after main's
# tests ran; the suite checks the overlays' shape, never which image they name.
OVERLAY = re.compile(r"deploy/overlays/[^/]+/kustomization\.yaml")
DEPLOYED_IMAGE = re.compile(r"^\s*(newTag|digest):.*\n", re.M)


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


def is_suite_input(path: str) -> bool:
    return not path.endswith(".md")


def uncommitted() -> list[str]:
    """Changed and untracked files (ignored ones aside) that the suite may read."""
    status = git("status", "--porcelain", "--untracked-files=all").splitlines()
    return [line[3:] for line in status if is_suite_input(line[3:])]


def code_key() -> str | None:
    """What the suite can read, hashed; None with uncommitted changes or outside git."""
    try:
        listed = git("ls-files", "--stage", "-z").split("\0")
        if uncommitted() or not any(listed):
            return None
    except (OSError, subprocess.CalledProcessError):
        return None
    key = hashlib.sha256(f"{sys.version}|{platform.system()}|{platform.machine()}".encode())
    for entry in filter(None, listed):
        blob, path = entry.split("\t", 1)  # "<mode> <object id> <stage>", path
        if not is_suite_input(path):
            continue
        if OVERLAY.fullmatch(path):
            blob = DEPLOYED_IMAGE.sub("", Path(path).read_text(encoding="utf-8"))
        key.update(f"{path}\0{blob}\0".encode())
    return key.hexdigest()


def pulled_commit(key: str | None) -> str | None:
    """The commit of main's pass that `make pull` fetched for ``key``, if any."""
    try:
        return json.loads((PULLED / f"{key}.json").read_text(encoding="utf-8"))["commit"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record_pass(key: str, commit: str) -> None:
    PASSED.mkdir(parents=True, exist_ok=True)
    record = {"commit": commit, "python": platform.python_version()}
    (PASSED / f"{key}.json").write_text(json.dumps(record) + "\n", encoding="utf-8")


def test(pytest_args: list[str]) -> int:
    """Run the suite, or reuse main's pass; only a whole suite's pass is recorded."""
    key = None if pytest_args else code_key()
    commit = pulled_commit(key) if key else None
    if commit:
        record_pass(key, commit)  # main's release keeps it, as if it had run here
        print(f"test: not run again: main's pipeline passed the suite on these files at "
              f"{commit[:12]} (they differ only in Markdown or the deployed image tag). "
              f"To run it here anyway: rm -r {PULLED}")
        return 0
    returncode = subprocess.run([sys.executable, "-m", "pytest", *pytest_args]).returncode
    if returncode == 0 and key:
        record_pass(key, git("rev-parse", "HEAD").strip())
    elif returncode == 0 and not pytest_args:
        print("test: passed, not recorded: uncommitted changes (git status) or no git")
    return returncode


def remote_folder(repo):
    """The default DVC remote's filesystem and its folder for the records."""
    remote = repo.cloud.get_remote()
    return remote.fs, remote.fs.join(remote.path, REMOTE_FOLDER)


def fetch() -> int:
    """Fetch main's record for these files, if there is one (never fails: the suite then runs)."""
    from dvc.repo import Repo

    key = code_key()
    if not key:
        return 0
    try:
        with Repo() as repo:
            fs, folder = remote_folder(repo)
            name = fs.join(folder, f"{key}.json")
            if not fs.exists(name):
                return 0
            PULLED.mkdir(parents=True, exist_ok=True)
            fs.get_file(name, str(PULLED / f"{key}.json"))
    except Exception as error:  # noqa: BLE001 - any failure only means the suite runs
        print(f"pull: no record of main's test passes ({error}); make test runs the suite")
        return 0
    print("pull: main's pipeline passed the test suite on these files (make test says where)")
    return 0


def upload() -> int:
    """Keep this checkout's pass of these files in the remote (main's pipeline).

    Never fails: the data is pushed by then, and a lost record only means
    the next pull request runs the suite."""
    from dvc.repo import Repo

    key = code_key()
    record = PASSED / f"{key}.json"
    if not key or not record.exists():
        print("push-data: no passed test suite recorded for these files")
        return 0
    try:
        with Repo() as repo:
            fs, folder = remote_folder(repo)
            fs.makedirs(folder, exist_ok=True)
            fs.put_file(str(record), fs.join(folder, record.name))
    except Exception as error:  # noqa: BLE001 - see the docstring
        print(f"push-data: WARNING: the test suite's pass was not recorded ({error})")
        return 0
    print("push-data: recorded the passed test suite of these files in the remote")
    return 0


def main(argv=None) -> int:
    action, *rest = argv if argv is not None else sys.argv[1:] or ["test"]
    if action == "test":
        return test(rest)
    if action in ("fetch", "upload") and not rest:
        return {"fetch": fetch, "upload": upload}[action]()
    print(f"usage: python -m {__package__}.passed_suite test [pytest args] | fetch | upload",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
