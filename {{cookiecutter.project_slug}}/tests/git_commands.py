"""git for the tests, with a fixed identity: commits need one, and a test
machine or CI runner may have none configured."""
import subprocess

IDENTITY = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]


def git(cwd, *args) -> str:
    """Run git in ``cwd`` and return its output; raises when git fails."""
    return subprocess.run(["git", *IDENTITY, *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout
