"""The DVC remote in CI: `make pull` before the pipeline, `make push-data` after it.

    python -m {{ cookiecutter.module_name }}.remote_data pull
    python -m {{ cookiecutter.module_name }}.remote_data push

pull runs ``dvc pull --run-cache --allow-missing``: the data DVC tracks, and
the outputs of every stage main has already run (DVC's run-cache), so
unchanged stages are restored instead of recomputed. When the remote cannot be
read at all (no credentials, as in a pull request from a fork):

- if every input the pipeline needs is here anyway (the bundled dataset is
  made by a stage), the stages are simply recomputed;
- otherwise it writes ``build/data-unavailable.txt``, which makes ``make repro``
  skip the pipeline, ``make report`` say why and ``make gate`` fail: a report
  is never built from data other than the project's.

push runs ``dvc push --run-cache``: data, models and the run-cache.
Each also moves the records of passed test suites (passed_suite.py): pull
fetches main's record for these files, push keeps this checkout's passes.

Credentials come from the environment, as DVC reads them (AWS_*, AZURE_*),
or, for a key that must be a file (GCS service account, SSH key), as its
content in DVC_REMOTE_KEY or its path in DVC_REMOTE_KEY_FILE; an SSH
remote's host keys in DVC_SSH_KNOWN_HOSTS.
"""
import os
import subprocess
import sys
from pathlib import Path

UNAVAILABLE = Path("build/data-unavailable.txt")
KEY_FILE = Path("build/dvc-remote-key")
COMMANDS = {
    "pull": ["dvc", "pull", "--run-cache", "--allow-missing"],
    "push": ["dvc", "push", "--run-cache"],
}


# SQLite's answer when another process holds the database's lock too long.
LOCKED = "database is locked"


def dvc(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dvc", *args], capture_output=True,
                          text=True, env=env)


def remote_scheme() -> str:
    """The default remote's URL scheme: s3, gs, azure, ssh, or '' for a local path."""
    name = dvc("remote", "default").stdout.strip()
    for line in dvc("remote", "list").stdout.splitlines():
        remote, _, url = line.partition("\t")
        if remote.strip() == name and "://" in url:
            return url.split("://", 1)[0].strip()
    return ""


def credentials_env() -> dict:
    """The environment for DVC, with a key file written where one is needed."""
    env = dict(os.environ)
    key_file = env.get("DVC_REMOTE_KEY_FILE")
    if env.get("DVC_REMOTE_KEY"):
        KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        KEY_FILE.touch(mode=0o600)
        KEY_FILE.write_text(env["DVC_REMOTE_KEY"].strip() + "\n", encoding="utf-8")
        key_file = str(KEY_FILE.resolve())
    if key_file:
        scheme = remote_scheme()
        if scheme == "gs":
            env["GOOGLE_APPLICATION_CREDENTIALS"] = key_file
        elif scheme == "ssh":
            # .dvc/config.local: git-ignored, this checkout only.
            dvc("remote", "modify", "--local", dvc("remote", "default").stdout.strip(),
                "keyfile", key_file)
    if env.get("DVC_SSH_KNOWN_HOSTS"):
        trust_hosts(env["DVC_SSH_KNOWN_HOSTS"])
    return env


def trust_hosts(lines: str) -> None:
    """Add the SSH remote's host keys to ~/.ssh/known_hosts (once)."""
    known_hosts = Path.home() / ".ssh" / "known_hosts"
    known_hosts.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    present = known_hosts.read_text() if known_hosts.exists() else ""
    new = [line for line in lines.strip().splitlines() if line not in present]
    if new:
        with known_hosts.open("a") as file:
            file.write("".join(line + "\n" for line in new))


def tracked_inputs() -> list[Path]:
    """Files and folders DVC tracks outside the pipeline (``dvc add``/``import-url``)."""
    listed = subprocess.run(["git", "ls-files", "*.dvc"], capture_output=True, text=True,
                            check=True).stdout.split()
    return [Path(name).with_suffix("") for name in listed]


def last_error(output: str) -> str:
    errors = [line for line in output.splitlines() if line.startswith("ERROR")]
    return (errors or output.strip().splitlines() or ["no output"])[-1]


def run(action: str, env: dict) -> subprocess.CompletedProcess:
    print("$ " + " ".join(COMMANDS[action]), flush=True)
    result = dvc(*COMMANDS[action][1:], env=env)
    print(result.stdout, end="")
    print(result.stderr, end="", file=sys.stderr)
    return result


def start_record_move(action: str, env: dict) -> subprocess.Popen:
    """Start fetching or uploading test-suite records (passed_suite.py) with the
    remote's credentials; the caller waits."""
    return subprocess.Popen([sys.executable, "-m", f"{__package__}.passed_suite", action],
                            env=env)


def pull() -> int:
    UNAVAILABLE.unlink(missing_ok=True)
    env = credentials_env()
    # Main's test record is fetched beside the data, not after it: each
    # process spends most of its second importing DVC. Without access it
    # finds nothing, and the suite runs.
    fetch = start_record_move("fetch", env)
    result = run("pull", env)
    fetched = fetch.wait()
    if result.returncode != 0 and LOCKED in (result.stderr or result.stdout):
        # Both processes open DVC's state database; on a busy machine the pull
        # can give up waiting for the other's lock. That one has ended: again, alone.
        result = run("pull", env)
    if result.returncode == 0:
        return fetched
    reason = last_error(result.stderr or result.stdout)
    missing = [str(path) for path in tracked_inputs() if not path.exists()]
    if not missing:
        print(f"pull: the DVC remote could not be read ({reason}); every input is here, "
              "so the stages will be recomputed.")
        return 0
    message = (f"The DVC remote could not be read ({reason}), so the pipeline's data is "
               f"unavailable: {', '.join(missing)}. A pull request from a fork gets no "
               "secrets: a maintainer can run it from a branch of this repository.")
    UNAVAILABLE.parent.mkdir(parents=True, exist_ok=True)
    UNAVAILABLE.write_text(message + "\n", encoding="utf-8")
    print(f"pull: {message}", file=sys.stderr)
    return 0


def push() -> int:
    """Data first; this checkout's test record only once the data is there."""
    env = credentials_env()
    return run("push", env).returncode or start_record_move("upload", env).wait()


def main(argv=None) -> int:
    action = (argv if argv is not None else sys.argv[1:] or ["pull"])[0]
    if action == "pull":
        return pull()
    if action == "push":
        return push()
    print(f"usage: python -m {__package__}.remote_data pull|push", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
