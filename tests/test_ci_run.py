"""Your own data through every CI, for real: a project trained on its own CSV
(`make use-data`), whose data lives only in an S3 remote (moto_server on
127.0.0.1). From fresh clones, the main pipeline pushes data, models and the
run-cache to the remote and deploys; then the pull-request pipeline runs on
GitHub Actions (act), GitLab CI (gitlab-ci-local) and Jenkins (its sh steps):
each pulls the data, restores the unchanged stages from the run-cache, goes
green with the author's metrics, and posts one report with pinned CML. A
failing check turns each red; a fork, which gets no secrets, says the
data was unavailable and fails the gate.

How each system is run here, and what is off (posting: CML is replaced by a
stand-in that records its command line), is in tests/support/ci_run.py.
"""
import json
import re
from pathlib import Path

import pytest

from support import ci_pipelines as ci
from support import s3
from support.ci_pipelines import PROVIDERS
from support.ci_run import (add_branch, fast_venv, make_origin, run_main,
                            run_pull_request)
from support.containers import LocalRegistry
from support.project import bake, image_build_flags, project_env, run

pytestmark = pytest.mark.slow
BUCKET = "ml-data"
# Each CI's read-only secrets for the S3 remote (names from the CI files).
READ_SECRETS = {
    "github": {"DVC_READ_AWS_ACCESS_KEY_ID": s3.CREDENTIALS["AWS_ACCESS_KEY_ID"],
               "DVC_READ_AWS_SECRET_ACCESS_KEY": s3.CREDENTIALS["AWS_SECRET_ACCESS_KEY"]},
    "gitlab": {"DVC_READ_AWS_ACCESS_KEY_ID": s3.CREDENTIALS["AWS_ACCESS_KEY_ID"],
               "DVC_READ_AWS_SECRET_ACCESS_KEY": s3.CREDENTIALS["AWS_SECRET_ACCESS_KEY"]},
    "jenkins": s3.CREDENTIALS,  # bound by withCredentials(dvc-remote-read)
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory, tools):
    """The project with its origin (main, `feature`: a changed param), after
    the main pipeline ran from a fresh clone and pushed to the remote."""
    root = tmp_path_factory.mktemp("ci-run")
    venv = fast_venv(root / "venv")
    with s3.s3_server(BUCKET) as endpoint, LocalRegistry(tools) as registry:
        project = bake(root / "bake", dvc_remote="s3", dvc_remote_url=f"s3://{BUCKET}/wine",
                       registry=registry.ref("ml"))
        origin = make_origin(project, venv, root / "home", endpoint, s3.CREDENTIALS)
        # Only the author's data is in the remote so far: no run-cache yet.
        assert not [key for key in s3.keys(endpoint, BUCKET) if "/runs/" in key]
        image_base = "localhost/pybase:bookworm"
        tools.ensure_base_image(image_base)
        main = run_main(origin, root / "main", venv, {
            **tools.env, "REGISTRY_TLS_VERIFY": "false",
            "BASE_IMAGE": image_base,
            "IMAGE_BUILD_FLAGS": image_build_flags(tools),
        }, credentials={**s3.CREDENTIALS, "REGISTRY_USER": "", "REGISTRY_PASSWORD": ""})
        repository = {"root": root, "venv": venv, "origin": origin, "project": project,
                      "endpoint": endpoint, "main": main, "runs": {}}
        yield repository


def pipeline_run(repo, provider: str, branch: str, fork: bool = False):
    """Run once per (provider, branch, fork) and remember the result."""
    key = (provider, branch, fork)
    if key not in repo["runs"]:
        directory = repo["root"] / f"{provider}-{branch}{'-fork' if fork else ''}"
        secrets = {} if fork else READ_SECRETS[provider]
        repo["runs"][key] = run_pull_request(provider, repo["origin"], branch, directory,
                                             repo["venv"], secrets, fork)
    return repo["runs"][key]


def stages_run(log: str) -> set:
    return set(re.findall(r"Running stage '([a-z_]+)'", log))


def suite_ran(log: str) -> bool:
    """Whether pytest's summary (coloured under act) says the suite passed."""
    return bool(re.search(r"\d+ passed(, \d+ \w+)* in", re.sub(r"\x1b\[[0-9;]*m", "", log)))


def dvc_lines(log: str) -> str:
    """What `make pull` and DVC said, stage by stage, for a failure message."""
    return "\n".join(line for line in log.splitlines()
                     if re.search(r"stage '|dvc pull|^pull:|ERROR|WARNING", line, re.I))


def test_main_pipeline_pushes_data_models_and_run_cache(repo):
    main = repo["main"]
    assert main.returncode == 0, main.log[-6000:]
    assert [target for target, _ in main.targets] == ci.jenkins_targets(repo["project"], "main")
    keys = s3.keys(repo["endpoint"], BUCKET)
    assert [key for key in keys if key.startswith("wine/runs/")], "no run-cache pushed"
    lock = (main.outputs / "dvc.lock").read_text()
    model_md5 = re.search(r"path: models/model.onnx\n\s+hash: md5\n\s+md5: (\w+)", lock)[1]
    assert f"wine/files/md5/{model_md5[:2]}/{model_md5[2:]}" in keys
    # The deploy commit on origin names the pushed image.
    overlay = run(["git", "show", "main:deploy/overlays/staging/kustomization.yaml"],
                  repo["origin"]).stdout
    assert "newTag" in overlay or "digest" in overlay


@pytest.mark.parametrize("provider", PROVIDERS)
def test_pull_request_pipeline_goes_green_with_the_pulled_data(repo, provider):
    run_ = pipeline_run(repo, provider, "feature")
    assert run_.returncode == 0, f"{provider} pipeline failed:\n{run_.log[-6000:]}"
    assert run_.targets == [(target, True)
                            for target in ci.TARGETS[provider](repo["project"], "pull-request")]
    # The changed param re-ran train; the stages before it came from main's
    # run-cache. (evaluate may be skipped too: its committed outputs match.)
    assert suite_ran(run_.log), "the changed params did not run the suite"
    ran = stages_run(run_.log)
    assert "train" in ran and not ran & {"prepare", "featurize"}, dvc_lines(run_.log)
    metrics = json.loads((run_.outputs / "metrics.json").read_text())
    authors = json.loads(run(["git", "show", "feature:metrics.json"], repo["origin"]).stdout)
    assert metrics == authors
    report = (run_.outputs / "report.md").read_text()
    assert "`train.random_forest.n_estimators` | `100` | `50`" in report
    # Posted once, by CML pinned, with the token, from no checkout of the PR.
    (args,) = [line for line in run_.cml_calls.splitlines() if line.startswith("args: ")]
    assert args.startswith("args: --yes @dvcorg/cml@0.20.6 comment update")
    assert "token: set" in run_.cml_calls and "report.md" in args


def test_every_provider_leaves_the_same_outputs(repo):
    runs = [pipeline_run(repo, provider, "feature") for provider in PROVIDERS]
    assert all(run_.returncode == 0 for run_ in runs), [run_.provider for run_ in runs]
    contents = {run_.provider: (run_.outputs / "metrics.json").read_bytes() for run_ in runs}
    assert len(set(contents.values())) == 1, f"metrics.json differs between {sorted(contents)}"
    # The body of the report: not the line naming the commits and whether the
    # runner's work tree is clean (act's copy of it has no git status to read).
    reports = {run_.provider: re.sub(r"\[CI artifact\]\([^)]*\)|^Base `.*$", "",
                                     (run_.outputs / "report.md").read_text(), flags=re.M)
               for run_ in runs}
    # GitLab embeds the plots (uploaded natively); the others link the artifact.
    assert reports["github"] == reports["jenkins"], "report.md differs"


def test_an_unchanged_pipeline_is_restored_not_recomputed(repo):
    # Off origin's main, which has CI's deploy commit: the overlay names the pushed image.
    run(["git", "fetch", "-q", "origin", "main"], repo["project"])
    branch = add_branch(repo["project"], repo["origin"], "readme",
                        {"README.md": "# Wine\n\nOnly the README changed.\n"},
                        base="origin/main")
    run_ = pipeline_run(repo, "jenkins", branch)
    assert run_.returncode == 0, run_.log[-6000:]
    assert stages_run(run_.log) == set(), dvc_lines(run_.log)
    assert "Data and pipelines are up to date" in run_.log
    # Main's pipeline passed the suite on these files (only README.md and the
    # deployed image tag differ): `make test` says so instead of re-running it.
    assert "test: not run again: main's pipeline passed the suite" in run_.log, run_.log[-6000:]
    assert not suite_ran(run_.log)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_failing_check_turns_the_pipeline_red_and_stops_it(repo, provider):
    """A failing step (here flake8, so the run stops early) fails the run and
    nothing after it runs. test_ci_parity checks that no CI file can let a
    step fail quietly (continue-on-error, allow_failure, catchError, || true)."""
    branch = "broken"
    if not any(key[1] == branch for key in repo["runs"]):
        add_branch(repo["project"], repo["origin"], branch, {
            "tests/test_injected_failure.py": '"""Injected by the template tests: CI must go '
            'red."""\nimport os\n'})
    run_ = pipeline_run(repo, provider, branch)
    assert run_.returncode != 0
    log = re.sub(r"\x1b\[[0-9;]*m", "", run_.log)  # flake8 colours its output under act
    assert "test_injected_failure.py:2:1: F401 'os' imported but unused" in log, log[-3000:]
    checks = ci.TARGETS[provider](repo["project"], "pull-request")
    until_lint = checks[:checks.index("lint") + 1]
    assert run_.targets == [(target, target != "lint") for target in until_lint]
    assert not (Path(run_.outputs) / "report.md").exists()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_fork_without_secrets_says_so_and_fails_the_gate(repo, provider):
    run_ = pipeline_run(repo, provider, "feature", fork=True)
    assert run_.returncode != 0
    assert "The DVC remote could not be read" in run_.log
    assert "repro: skipped" in run_.log and not stages_run(run_.log)
    report = (run_.outputs / "report.md").read_text()
    assert "**Pipeline not reproduced.**" in report and "| metric |" not in report
    assert run_.targets[-1] == ("gate", False)
    assert run_.cml_calls == ""  # a fork's report is not posted


def test_experiments_run_on_a_fresh_clone(repo, tmp_path):
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", "-b", "main", str(repo["origin"]), str(clone)], tmp_path)
    env = {**project_env(clone), **s3.CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1"}
    run(["make", "pull"], clone, env=env)
    run(["python", "-m", "dvc", "exp", "run", "--temp", "-n", "shallow",
         "-S", "train.random_forest.max_depth=3"], clone, env=env)
    run(["python", "-m", "dvc", "exp", "run", "--queue", "-n", "fewer-trees",
         "-S", "train.random_forest.n_estimators=20"], clone, env=env)
    run(["python", "-m", "dvc", "exp", "run", "--run-all"], clone, env=env, timeout=600)
    table = run(["python", "-m", "dvc", "exp", "show", "--no-pager", "--csv"], clone,
                env=env).stdout
    assert "shallow" in table and "fewer-trees" in table, table
    # The best one, back in the workspace, ready to become a pull request.
    run(["python", "-m", "dvc", "exp", "apply", "shallow"], clone, env=env)
    assert "max_depth: 3" in (clone / "params.yaml").read_text()
    run(["python", "-m", "dvc", "exp", "run", "-S", "train.random_forest.max_depth=4"], clone,
        env=env)
    assert json.loads((clone / "metrics.json").read_text())["accuracy"] > 0.5
