"""Run a generated project's pipelines (pull request, main, promotion tag,
retraining) on this machine, for real, with each CI system's own runner where
one exists:

- GitHub Actions: act (run_act), jobs on the host (`-P ubuntu-latest=-self-hosted`);
  remote actions are replaced by the small local stand-ins in
  tests/fixtures/act-actions (setup-uv: the host's uv and Python; cache:
  restore/save in a local directory; upload-artifact and download-artifact: a
  local directory the test also reads; checkout, where a workflow names a
  ref: a clone of the test's origin);
- GitLab CI: gitlab-ci-local (run_gitlab_ci_local), shell executor, each job in
  its own copy of the repo (--shell-isolation), with the pipeline source and
  predefined variables the event would set;
- Jenkins: no runner exists outside a Jenkins server, so the Jenkinsfile is
  read with tree-sitter (ci_pipelines) and its `sh` steps run in order (run_jenkins_steps).

Off on this machine: posting the comment. CI runs CML, pinned, with npx; CML
cannot be installed here and there is no hosting API, so tests/fixtures/bin/npx
comes first on PATH and records the command line instead (PipelineRun.cml_calls).
Secrets are what each CI would hold: ``secrets`` maps the CI's secret names
(GitHub secrets, GitLab variables) or, for Jenkins, the bound variables.

Each run happens in a fresh clone of the project's origin, like a CI checkout.
`make install` runs as in CI (uv sync --frozen into the checkout's .venv) with
one uv cache for the whole session (UV_CACHE), as a CI cache would keep it.
"""
import json
import os
import re
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

from support import ci_pipelines as ci
from support.project import GIT_IDENTITY, ONE_PROCESS_SUITE, git

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "act-actions"
# The remote actions the workflows use, each mapped to its local stand-in.
ACT_STAND_INS = {
    "actions/cache": "cache",
    "actions/upload-artifact": "upload-artifact",
    "actions/download-artifact": "download-artifact",
    "astral-sh/setup-uv": "setup-uv",
}
STAND_IN_BIN = Path(__file__).resolve().parents[1] / "fixtures" / "bin"
UV_CACHE = Path(__file__).resolve().parents[2] / "build" / "uv-cache"
# Variables (not secrets) every CI run here has, e.g. for the S3 test remote.
CI_VARIABLES = {"AWS_DEFAULT_REGION": "us-east-1"}
# What every runner's jobs see here besides the CI's own variables.
RUNNER_ENVIRONMENT = dict(ONE_PROCESS_SUITE)
# The repository as the hosting API names it, in every event.
REPOSITORY = "example/project"


@dataclass
class PipelineRun:
    provider: str
    returncode: int
    targets: list  # (target, succeeded) in the order they ran
    outputs: Path  # where metrics.json and report.md are, if produced
    log: str
    seconds: float
    cml_calls: str = ""  # what the npx stand-in recorded
    step_seconds: list = field(default_factory=list)  # (step, seconds); Jenkins steps only


def fast_venv(path: Path) -> Path:
    """A virtualenv that also sees this Python's site-packages (the same pins)."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    purelib = Path(sysconfig.get_paths(vars={"base": str(path), "platbase": str(path)})["purelib"])
    (purelib / "template-test-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return path


def ci_environment(venv: Path, home: Path) -> dict:
    """The runner's environment: the venv's Python first on PATH, a private HOME."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    tools = [str(STAND_IN_BIN), str(venv / "bin"), str(Path(sys.executable).parent),
             str(ci.NODE_BIN)]
    env["PATH"] = os.pathsep.join([*tools, env["PATH"]])
    env["HOME"] = str(home)
    env["CML_CALLS"] = str(home / "cml-calls.txt")
    # One uv cache for every run of the session, as a CI cache would keep it.
    env["UV_CACHE_DIR"] = str(UV_CACHE)
    env["UV_PYTHON_DOWNLOADS"] = "never"  # the runner's Python, as setup-uv gives
    env.update(RUNNER_ENVIRONMENT)
    home.mkdir(parents=True, exist_ok=True)
    return env


def checkout(origin: Path, branch: str, workspace: Path) -> Path:
    git(origin.parent, "clone", "--quiet", "--branch", branch, str(origin), str(workspace))
    return workspace


def run_act(workspace: Path, env: dict, pipeline: str, event_name: str, payload: dict,
            secrets: dict | None = None, variables: dict | None = None,
            local_origin: Path | None = None) -> PipelineRun:
    """One workflow of the project under act, for ``event_name`` with ``payload``.
    ``local_origin``: the workflow checks out a named ref, which act does not
    skip; the checkout stand-in clones it from there."""
    event = workspace.parent / f"{event_name}.json"
    event.write_text(json.dumps({"repository": {"full_name": REPOSITORY}, **payload}))
    artifacts = workspace.parent / "artifacts"
    cache = workspace.parent / "actions-cache"  # kept between runs, like GitHub's cache
    workflow_file = ci.GITHUB_WORKFLOWS[pipeline]
    command = ["act", event_name, "-P", "ubuntu-latest=-self-hosted", "--no-cache-server",
               "-W", workflow_file, "-e", str(event)]
    act_env = {"LOCAL_ARTIFACTS_DIR": artifacts, "LOCAL_CACHE_DIR": cache,
               "CML_CALLS": env["CML_CALLS"], "UV_CACHE_DIR": UV_CACHE,
               # act names the repository after origin's URL, here a local path.
               "GITHUB_REPOSITORY": REPOSITORY, **RUNNER_ENVIRONMENT}
    if local_origin is not None:
        act_env["LOCAL_ORIGIN"] = local_origin
    for name, value in act_env.items():
        command += ["--env", f"{name}={value}"]
    for name, value in {**CI_VARIABLES, **(variables or {})}.items():
        command += ["--var", f"{name}={value}"]
    # GitHub gives every run a GITHUB_TOKEN (read-only for a fork).
    for name, value in {"GITHUB_TOKEN": "github-token-stand-in", **(secrets or {})}.items():
        command += ["--secret", f"{name}={value}"]
    stand_ins = {**ACT_STAND_INS, **({"actions/checkout": "checkout"} if local_origin else {})}
    for reference in sorted(uses(yaml_load(workspace / workflow_file))):
        action = reference.split("@")[0]
        if action in stand_ins:  # else a plain checkout: act copies the work tree itself
            command += ["--local-repository", f"{reference}={FIXTURES / stand_ins[action]}"]
    returncode, log, seconds = timed(command, workspace, env)
    targets = [(target, outcome == "Success") for outcome, target in
               re.findall(r"(Success|Failure) - Main make ([a-z-]+)", log)]
    return PipelineRun("github", returncode, targets, artifacts / "report", log, seconds)


def run_gitlab_ci_local(workspace: Path, env: dict, variables: dict) -> PipelineRun:
    """The pipeline .gitlab-ci.yml gives for ``variables`` (the predefined ones
    given here replace gitlab-ci-local's own), each job in its own copy of the
    repo with the shell executor."""
    command = ["gitlab-ci-local", "--force-shell-executor", "--shell-isolation",
               "--no-artifacts-to-source", "--home", str(Path(env["HOME"]) / ".gitlab-ci-local"),
               "--ignore-predefined-vars", ",".join(name for name in variables
                                                    if name.startswith("CI_"))]
    for name, value in {**CI_VARIABLES, **RUNNER_ENVIRONMENT, **variables}.items():
        command += ["--variable", f"{name}={value}"]
    returncode, log, seconds = timed(command, workspace, env)
    targets = []
    for target in re.findall(r"^\S+\s+\$ make ([a-z-]+)", log, re.M):
        if targets:
            targets[-1] = (targets[-1][0], True)
        targets.append((target, False))
    if targets and returncode == 0:
        targets[-1] = (targets[-1][0], True)
    return PipelineRun("gitlab", returncode, targets, workspace, log, seconds)


def run_github(workspace: Path, env: dict, branch: str, secrets: dict,
               fork: bool) -> PipelineRun:
    head = {"full_name": "someone/project-fork"} if fork else {"full_name": REPOSITORY}
    return run_act(workspace, env, "pull-request", "pull_request", {"pull_request": {
        "number": 1, "head": {"ref": branch, "repo": head}, "base": {"ref": "main"}}}, secrets)


def run_gitlab(workspace: Path, env: dict, branch: str, secrets: dict,
               fork: bool) -> PipelineRun:
    run = run_gitlab_ci_local(workspace, env, {
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": branch, "CI_MERGE_REQUEST_IID": "1",
        "CI_PROJECT_ID": "7", "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "8" if fork else "7",
        "CML_CALLS": env["CML_CALLS"], **secrets,
        # The note token (scoped to the post job's environment on GitLab).
        **({} if fork else {"REPO_TOKEN": "gitlab-token-stand-in"})})
    jobs = [name for name, _ in ci.gitlab_jobs(workspace, "pull-request")]
    run.outputs = workspace / ".gitlab-ci-local" / "artifacts" / jobs[0]
    return run


def run_jenkins(workspace: Path, env: dict, branch: str, secrets: dict,
                fork: bool) -> PipelineRun:
    # What a multibranch pipeline sets for a change request build.
    fork_env = {"CHANGE_FORK": "someone"} if fork else {}
    jenkins_env = {**env, **CI_VARIABLES, **fork_env, "BRANCH_NAME": "PR-1", "CHANGE_ID": "1",
                   "CHANGE_BRANCH": branch, "CHANGE_TARGET": "main",
                   "GIT_URL": subprocess.run(["git", "remote", "get-url", "origin"], cwd=workspace,
                                             capture_output=True, text=True).stdout.strip()}
    return jenkins_pipeline(workspace, "pull-request", jenkins_env, secrets, {"env": fork_env})


def jenkins_pipeline(workspace: Path, pipeline: str, environment: dict, credentials: dict,
                     context: dict | None = None) -> PipelineRun:
    start = time.perf_counter()
    steps = run_jenkins_steps(workspace, pipeline, environment, credentials=credentials,
                              context=context)
    seconds = time.perf_counter() - start
    targets = [(target, step.returncode == 0) for step in steps
               for target in ci.make_targets(step.script)]
    returncode = 0 if all(step.returncode == 0 for step in steps) else 1
    log = "\n".join(f"[{step.stage}] $ {step.script}\n{step.output}" for step in steps)
    return PipelineRun("jenkins", returncode, targets, workspace, log, seconds,
                       step_seconds=[(step.script, step.seconds) for step in steps])


@dataclass
class StepRun:
    stage: str
    script: str
    returncode: int
    output: str
    seconds: float


def run_jenkins_steps(workspace: Path, pipeline: str, environment: dict, timeout: int = 900,
                      credentials: dict | None = None, context: dict | None = None) -> list:
    """Run the `sh` steps of the stages that run in ``pipeline``, in order, the
    way a Jenkins agent would: each in a fresh `bash -eo pipefail` in the
    workspace, with the pipeline's and stage's `environment` and credentials
    bound: to ``credentials[variable]`` where given, else to a placeholder.
    ``context`` overrides the build's context (e.g. a fork's CHANGE_FORK).
    Stops at the first failing step, as Jenkins fails the build there."""
    credentials = credentials or {}
    jenkinsfile = ci.jenkinsfile(workspace, pipeline)
    build_env = {**environment, "WORKSPACE": str(workspace)}
    parsed = ci.parse_jenkinsfile(jenkinsfile)
    for name, value in parsed.environment.items():
        build_env[name] = ci.interpolate(value, build_env)
    runs = []
    for stage_path, stage_env, steps in ci.jenkins_stages(jenkinsfile, pipeline, context):
        env = dict(build_env)
        for name, value in stage_env.items():
            if name not in parsed.environment:
                env[name] = ci.interpolate(value, env)
        for step in steps:
            bound = {name: credentials.get(name, "placeholder-credential")
                     for name in step.credentials}
            start = time.perf_counter()
            result = subprocess.run(["bash", "-eo", "pipefail", "-c", step.script],
                                    cwd=workspace, env={**env, **bound}, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    timeout=timeout)
            runs.append(StepRun(" / ".join(stage_path), step.script, result.returncode,
                                result.stdout, time.perf_counter() - start))
            if result.returncode != 0:
                return runs
    return runs


RUNNERS = {"github": run_github, "gitlab": run_gitlab, "jenkins": run_jenkins}


def run_pull_request(provider: str, origin: Path, branch: str, directory: Path,
                     venv: Path, secrets: dict | None = None, fork: bool = False) -> PipelineRun:
    """Run the PR pipeline in ``directory``/workspace, a checkout of ``branch``
    made on the first call; a later call with the same directory is the next
    run on the same runner (its caches, and Jenkins' workspace, are kept).
    ``fork``: the pull request comes from a fork (and gets no secrets)."""
    directory.mkdir(parents=True, exist_ok=True)
    workspace = directory / "workspace"
    if not workspace.exists():
        checkout(origin, branch, workspace)
    env = ci_environment(venv, directory / "home")
    calls = Path(env["CML_CALLS"])
    calls.unlink(missing_ok=True)
    run = RUNNERS[provider](workspace, env, branch, secrets or {}, fork)
    run.cml_calls = calls.read_text() if calls.exists() else ""
    return run


def timed(command, cwd: Path, env: dict, timeout: int = 900):
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=timeout)
    return result.returncode, result.stdout, time.perf_counter() - start


def yaml_load(path: Path) -> dict:
    import yaml
    return yaml.safe_load(path.read_text())


def uses(workflow: dict) -> set:
    return {step["uses"] for job in workflow["jobs"].values()
            for step in job["steps"] if "uses" in step}


def own_data_csv(path: Path) -> Path:
    """A multi-class CSV whose label column is not called `target`."""
    from sklearn.datasets import load_wine
    frame = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    frame.to_csv(path, index=False)
    return path


def make_origin(project: Path, venv: Path, home: Path, endpoint: str, secrets: dict,
                csv: Path | None = None) -> Path:
    """Do what the project's README says to train on your own data (``csv``,
    by default a small multi-class one), with the S3 remote at ``endpoint``:
    `make use-data`, `make repro`, commit, push the data. Give the project an
    origin with that `main` and a `feature` branch that changes a param (its
    author ran the pipeline too). As the README says, the author pushes the
    data alone: main's CI computes and pushes the models and the run-cache."""
    env = {**ci_environment(venv, home), "PYTHONPATH": str(project / "src"), **secrets}

    def sh(*command):
        return subprocess.run(command, cwd=project, env=env, check=True, capture_output=True,
                              text=True).stdout

    # What a user of MinIO or another S3-compatible store commits.
    sh("python", "-m", "dvc", "remote", "modify", "storage", "endpointurl", endpoint)
    csv = csv or own_data_csv(home / "wine.csv")
    sh("make", "use-data", f"CSV={csv}", "TARGET=cultivar")
    sh("make", "repro")
    sh("git", "add", "-A")
    sh("git", *GIT_IDENTITY, "commit", "-q", "-m", "Train on our own data")
    sh("python", "-m", "dvc", "push", f"data/raw/{csv.name}.dvc")
    origin = project.parent / "origin.git"
    sh("git", "init", "-q", "--bare", "-b", "main", str(origin))
    sh("git", "remote", "add", "origin", str(origin))
    sh("git", "push", "-q", "origin", "main")
    sh("git", "checkout", "-q", "-b", "feature")
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("n_estimators: 100", "n_estimators: 50"))
    sh("make", "repro")
    sh("git", *GIT_IDENTITY, "commit", "-q", "-am", "Fewer trees")
    sh("git", "push", "-q", "origin", "feature")
    return origin


def add_branch(project: Path, origin: Path, branch: str, files: dict, base="feature") -> str:
    """A branch off ``base`` that writes ``files`` ({path: text}), pushed to origin."""
    git(project, "checkout", "-q", "-b", branch, base)
    for name, text in files.items():
        (project / name).write_text(text)
        git(project, "add", name)
    git(project, "commit", "-q", "-m", f"{branch}: change {', '.join(files)}")
    git(project, "push", "-q", "origin", branch)
    git(project, "checkout", "-q", "feature")
    return branch


def run_main(origin: Path, directory: Path, venv: Path, environment: dict,
             credentials: dict) -> PipelineRun:
    """The main pipeline, as the Jenkinsfile's `sh` steps on a fresh checkout
    of main (GitHub's and GitLab's main jobs need a Docker daemon for the image,
    which this machine lacks; the Makefile targets are the same)."""
    directory.mkdir(parents=True, exist_ok=True)
    workspace = checkout(origin, "main", directory / "workspace")
    env = {**ci_environment(venv, directory / "home"), **CI_VARIABLES, **environment,
           "BRANCH_NAME": "main", "GIT_URL": str(origin)}
    return jenkins_pipeline(workspace, "main", env, credentials)


def run_promotion(provider: str, origin: Path, tag: str, directory: Path, venv: Path,
                  environment: dict) -> PipelineRun:
    """The pipeline a stage tag starts, in a fresh checkout of the tag; each CI
    file then switches to main's code (GitHub's checkout `ref: main`, the
    GitLab and Jenkins jobs' own `git checkout`); the tag as the CI passes it."""
    workspace, env = fresh_checkout(origin, tag, directory, venv, environment)
    if provider == "github":
        return run_act(workspace, env, "promotion", "push",
                       {"ref": f"refs/tags/{tag}", "ref_name": tag}, local_origin=origin)
    if provider == "gitlab":
        return run_gitlab_ci_local(workspace, env, {
            "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_TAG": tag, "CI_COMMIT_BRANCH": "",
            "CI_DEFAULT_BRANCH": "main"})
    return jenkins_pipeline(workspace, "promotion",
                            {**env, "BRANCH_NAME": tag, "TAG_NAME": tag, "GIT_URL": str(origin)},
                            credentials={}, context={"tag": tag, "branch": tag})


def run_retrain(provider: str, origin: Path, directory: Path, venv: Path, api_url: str,
                token: str, reason: str) -> PipelineRun:
    """The retraining pipeline as each CI starts it on main: GitHub's manual
    run (workflow_dispatch, the relay's call) with its `reason` input, GitLab's
    schedule, Jenkins' job with its RETRAIN_REASON parameter. ``api_url``: the
    hosting API (GitHub's `vars.HOSTING_API_URL`, GitLab's CI_API_V4_URL,
    Jenkins' HOSTING_API_URL in the agent's environment)."""
    workspace, env = fresh_checkout(origin, "main", directory, venv, {})
    if provider == "github":
        return run_act(workspace, env, "retrain", "workflow_dispatch",
                       {"ref": "refs/heads/main", "inputs": {"reason": reason}},
                       secrets={"RETRAIN_TOKEN": token},
                       variables={"HOSTING_API_URL": api_url}, local_origin=origin)
    if provider == "gitlab":
        return run_gitlab_ci_local(workspace, env, {
            "CI_PIPELINE_SOURCE": "schedule", "CI_COMMIT_BRANCH": "main",
            "CI_DEFAULT_BRANCH": "main", "CI_PROJECT_ID": "7", "CI_API_V4_URL": api_url,
            # The job points origin at "$CI_PROJECT_URL.git" to push.
            "CI_PROJECT_URL": str(origin).removesuffix(".git"),
            "RETRAIN_TOKEN": token, "RETRAIN_REASON": reason})
    return jenkins_pipeline(
        workspace, "retrain",
        {**env, "BRANCH_NAME": "main", "GIT_URL": str(origin), "HOSTING_API_URL": api_url,
         "RETRAIN_REASON": reason},
        credentials={"GITOPS_USER": "ci", "GITOPS_TOKEN": token, "REPO_TOKEN": token})


def fresh_checkout(origin: Path, ref: str, directory: Path, venv: Path,
                   environment: dict) -> tuple:
    """A fresh checkout of ``ref`` in ``directory``/workspace and the runner's environment."""
    directory.mkdir(parents=True, exist_ok=True)
    workspace = checkout(origin, ref, directory / "workspace")
    env = {**{name: value for name, value in environment.items() if name != "PATH"},
           **ci_environment(venv, directory / "home")}
    return workspace, env
