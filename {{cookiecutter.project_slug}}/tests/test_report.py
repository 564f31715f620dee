"""make report on a tiny git repo: a base commit and a feature commit, no pipeline run."""
import json
import os
import struct
import subprocess

import matplotlib.image
import pytest
import yaml
from markdown_it import MarkdownIt

from {{ cookiecutter.module_name }}.report import images
from {{ cookiecutter.module_name }}.report.__main__ import main
from {{ cookiecutter.module_name }}.report.compare import verdict
from {{ cookiecutter.module_name }}.report.markdown import WORD_JOINER
from stage_workspace import PROJECT_ROOT

BASE_METRICS = {"accuracy": 0.9, "log_loss": 0.3, "roc_auc": 0.95}
NEW_METRICS = {"accuracy": 0.92, "log_loss": 0.25, "roc_auc": 0.93}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def params(n_estimators=100, max_drop=None) -> dict:
    return {
        "train": {"model": "random_forest", "random_forest": {"n_estimators": n_estimators}},
        "evaluate": {"primary_metric": "roc_auc"},
        "report": {"max_drop": max_drop},
    }


def plots(shift: float) -> dict:
    return {
        "plots/roc.json": {"roc": [{"fpr": 0, "tpr": 0}, {"fpr": 0.1, "tpr": 0.8 - shift},
                                   {"fpr": 1, "tpr": 1}]},
        "plots/precision_recall.json": {"precision_recall": [
            {"recall": 0, "precision": 1}, {"recall": 0.8, "precision": 0.9 - shift},
            {"recall": 1, "precision": 0.5}]},
        "plots/confusion.json": {"confusion": [
            {"actual": "0", "predicted": "0"}, {"actual": "1", "predicted": "1"},
            {"actual": "1", "predicted": "0"}]},
    }


def git(repo, *args) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
           "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


def write(repo, files: dict) -> None:
    for name, content in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".yaml"):
            path.write_text(yaml.safe_dump(content))
        else:
            path.write_text(content if isinstance(content, str) else json.dumps(content))


def commit(repo, files: dict, message: str) -> str:
    write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def make_repo(tmp_path, base_files: dict, new_params=None, new_metrics=None):
    """main holds ``base_files``; branch feature changes a param and the metrics."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    base_sha = commit(repo, base_files, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    new_sha = commit(repo, {
        "params.yaml": new_params or params(n_estimators=50),
        "metrics.json": new_metrics or NEW_METRICS, **plots(shift=0.1),
    }, "feature")
    return repo, base_sha, new_sha


@pytest.fixture
def repo(tmp_path, monkeypatch):
    base = {"params.yaml": params(), "metrics.json": BASE_METRICS, **plots(shift=0)}
    repo, base_sha, new_sha = make_repo(tmp_path, base)
    monkeypatch.chdir(repo)
    return repo, base_sha, new_sha


@pytest.fixture(autouse=True)
def images_drawn_only_where_checked(request, monkeypatch):
    """Drawing the three PNGs is most of a report's time. Tests that look at
    them ask for real drawing with @pytest.mark.draws_images; the others get an
    empty file where each image goes."""
    if request.node.get_closest_marker("draws_images"):
        return

    def empty_image(name, panels, path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        return path

    monkeypatch.setattr(images, "render", empty_image)


def png_size(path) -> tuple:
    """(width, height) from the PNG header; fails unless the file is a PNG."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def table_row(report: str, first_cell: str) -> list:
    for line in report.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0] == first_cell:
            return cells
    raise AssertionError(f"no table row {first_cell!r} in:\n{report}")


def test_report_shows_params_and_every_metric(repo):
    path, base_sha, new_sha = repo
    assert main(["--base", "main"]) == 0
    report = (path / "report.md").read_text()
    assert f"Base `main` at `{base_sha}`; workspace at `{new_sha}`." in report
    assert table_row(report, "`train.random_forest.n_estimators`") == [
        "`train.random_forest.n_estimators`", "`100`", "`50`"]
    assert "`evaluate.primary_metric`" not in report  # unchanged params are not listed
    for name in BASE_METRICS:
        cells = table_row(report, "**`roc_auc`** (primary)" if name == "roc_auc" else f"`{name}`")
        base, new = BASE_METRICS[name], NEW_METRICS[name]
        assert float(cells[1]) == base and float(cells[2]) == new
        assert float(cells[3]) == pytest.approx(new - base, abs=1e-9)
    assert table_row(report, "`log_loss`")[4] == "improved"  # lower is better
    assert table_row(report, "`accuracy`")[4] == "improved"
    assert "**`roc_auc` regressed by 0.02**: 0.95 → 0.93" in report


@pytest.mark.draws_images
def test_report_images_are_png_side_by_side(repo):
    path, _, _ = repo
    assert main(["--base", "main"]) == 0
    report = (path / "report.md").read_text()
    for name in ("roc", "precision_recall", "confusion"):
        image = path / "report" / f"{name}.png"
        assert f"](report/{name}.png)" in report
        width, height = png_size(image)
        assert width > 1.5 * height > 300  # two panels side by side
        assert matplotlib.image.imread(image).shape[:2] == (height, width)


def test_uncommitted_changes_are_noted(repo):
    path, _, _ = repo
    write(path, {"metrics.json": {**NEW_METRICS, "roc_auc": 0.97}})
    assert main(["--base", "main"]) == 0
    report = (path / "report.md").read_text()
    assert "plus uncommitted changes" in report
    assert "**`roc_auc` improved by 0.02**: 0.95 → 0.97" in report


@pytest.mark.draws_images
def test_first_run_shows_current_metrics(tmp_path, monkeypatch):
    path, _, _ = make_repo(tmp_path, {"params.yaml": params(), "README.md": "no metrics yet\n"})
    monkeypatch.chdir(path)
    assert main(["--base", "main"]) == 0
    report = (path / "report.md").read_text()
    assert "**First run:** `main` has no metrics.json yet" in report
    for name, value in NEW_METRICS.items():
        cells = table_row(report, "**`roc_auc`** (primary)" if name == "roc_auc" else f"`{name}`")
        assert float(cells[1]) == value
    width, height = png_size(path / "report" / "roc.png")
    assert width < 1.5 * height  # the workspace panel only


@pytest.mark.parametrize("bad_metrics, message", [
    ('{"accuracy": 0.9,', "metrics.json at main"),
    ('{"note": "no numbers"}', "no numeric metrics"),
])
def test_unreadable_base_metrics_fail_without_a_report(tmp_path, monkeypatch, capsys,
                                                       bad_metrics, message):
    path, _, _ = make_repo(tmp_path, {"params.yaml": params(), "metrics.json": bad_metrics})
    monkeypatch.chdir(path)
    (path / "report.md").write_text("a stale report\n")
    assert main(["--base", "main"]) == 2
    assert message in capsys.readouterr().err
    assert not (path / "report.md").exists()


def test_missing_base_revision_fails(repo, capsys):
    assert main(["--base", "no-such-branch"]) == 2
    assert "base revision 'no-such-branch' not found" in capsys.readouterr().err


def test_missing_workspace_metrics_fail(repo, capsys):
    (repo[0] / "metrics.json").unlink()
    assert main(["--base", "main"]) == 2
    assert "run `make repro` first" in capsys.readouterr().err


@pytest.fixture
def shallow_clone(repo, tmp_path, monkeypatch):
    """What CI checks out: the feature commit alone, without main."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth=1", "--branch", "feature", repo[0].as_uri(), str(clone))
    assert "main" not in git(clone, "branch", "-a")
    monkeypatch.chdir(clone)
    return clone


@pytest.mark.parametrize("base_rev", ["main", "origin/main"])
def test_shallow_clone_fetches_the_base(repo, shallow_clone, base_rev):
    assert main(["--base", base_rev]) == 0
    assert f"Base `{base_rev}` at `{repo[1]}`" in (shallow_clone / "report.md").read_text()


def test_shallow_clone_unknown_base_names_the_fetch(shallow_clone, capsys):
    assert main(["--base", "no-such-branch"]) == 2
    assert "`git fetch origin +no-such-branch:" in capsys.readouterr().err
    assert not (shallow_clone / "report.md").exists()


@pytest.mark.parametrize("max_drop, exit_code", [(None, 0), (0.03, 0), (0.02, 0), (0.01, 1)])
def test_gate_on_the_primary_metric(tmp_path, monkeypatch, capsys, max_drop, exit_code):
    # roc_auc drops by 0.02 from main to feature
    base = {"params.yaml": params(), "metrics.json": BASE_METRICS, **plots(shift=0)}
    path, _, _ = make_repo(tmp_path, base, new_params=params(max_drop=max_drop))
    monkeypatch.chdir(path)
    assert main(["--base", "main"]) == exit_code
    report = (path / "report.md").read_text()  # written even when the gate fails
    if exit_code:
        assert "report.max_drop = 0.01" in capsys.readouterr().err
        assert "Gate FAILED: roc_auc got worse by 0.02" in Rendered(report).text
    elif max_drop is not None:
        assert "Gate passed" in report


def test_bad_gate_value_is_an_error(tmp_path, monkeypatch, capsys):
    base = {"params.yaml": params(), "metrics.json": BASE_METRICS, **plots(shift=0)}
    path, _, _ = make_repo(tmp_path, base, new_params=params(max_drop="a lot"))
    monkeypatch.chdir(path)
    assert main(["--base", "main"]) == 2
    assert "report.max_drop: expected null or a number >= 0" in capsys.readouterr().err


class Rendered:
    """report.md parsed as CommonMark with tables, as GitHub and GitLab read it."""

    def __init__(self, report: str):
        self.tokens = MarkdownIt("commonmark").enable("table").parse(report)
        inline = [child for token in self.tokens if token.type == "inline"
                  for child in token.children]
        self.kinds = {token.type for token in self.tokens + inline}
        self.images = [token.attrs["src"] for token in inline if token.type == "image"]
        self.code = {token.content for token in inline if token.type == "code_inline"}
        # Text outside code, where a platform links mentions and addresses.
        self.text = "".join(token.content for token in inline if token.type == "text")

    def row_lengths(self) -> list:
        lengths, cells = [], 0
        for token in self.tokens:
            if token.type in ("th_open", "td_open"):
                cells += 1
            elif token.type == "tr_close":
                lengths, cells = lengths + [cells], 0
        return lengths


# Markdown that once broke out of the report's code spans: an image, a link, raw
# HTML and a mention in the pull-request comment, which CI posts with its token.
HOSTILE = ("x` ![pixel](https://evil.example/p.png) [click](https://evil.example) "
           "<img src=x onerror=alert(1)> @octocat | ``y")
HOSTILE_NAME = "auc` **[x](https://evil.example)** <b>@octocat</b> www.evil.example |"
ODD_VALUES = {  # value in params.yaml -> what the report's code span shows
    "``` three `` two ` one": "``` three `` two ` one",
    "`leading and trailing`": "`leading and trailing`",
    " spaced ": " spaced ",
    "back\\|slash": "back\\|slash",
    "line\nbreak": "line\\nbreak",
    "\u202eright-to-left": "\\u202eright-to-left",
    "": '""',
}
PLOT_IMAGES = ["report/roc.png", "report/precision_recall.png", "report/confusion.png"]
ACTIVE = {"link_open", "html_inline", "html_block"}


def inert_report(tmp_path, monkeypatch, base: dict, exit_code: int, **changes) -> Rendered:
    """The report of a feature commit with ``changes``, checked to link and embed nothing."""
    path, _, _ = make_repo(tmp_path, base, **changes)
    monkeypatch.chdir(path)
    assert main(["--base", "main"]) == exit_code
    report = Rendered((path / "report.md").read_text())
    assert not report.kinds & ACTIVE, report.kinds
    assert report.images == PLOT_IMAGES  # the report's own plots, nothing else
    return report


def test_hostile_params_and_metric_names_stay_inert(tmp_path, monkeypatch):
    base = {"params.yaml": params(), "metrics.json": BASE_METRICS, **plots(shift=0)}
    new_params = params(n_estimators=HOSTILE)
    new_params["notes"] = {HOSTILE_NAME: HOSTILE,
                           **{f"odd{i}": value for i, value in enumerate(ODD_VALUES)}}
    report = inert_report(tmp_path, monkeypatch, base, 0, new_params=new_params,
                          new_metrics={**NEW_METRICS, HOSTILE_NAME: 0.5})
    assert "octocat" not in report.text and "evil" not in report.text
    # Each name and value is shown whole, in one code span.
    assert {HOSTILE, f"notes.{HOSTILE_NAME}", HOSTILE_NAME, *ODD_VALUES.values()} <= report.code
    # Tables keep their shape: params 3 cells (header, n_estimators, notes), metrics 5.
    assert report.row_lengths() == [3] * (3 + len(ODD_VALUES)) + [5] * (2 + len(NEW_METRICS))


def test_a_hostile_primary_metric_is_inert_in_the_gate_message(tmp_path, monkeypatch):
    gated = params(max_drop=0)
    gated["evaluate"]["primary_metric"] = HOSTILE_NAME
    base = {"params.yaml": gated, "metrics.json": {**BASE_METRICS, HOSTILE_NAME: 0.9},
            **plots(shift=0)}
    report = inert_report(tmp_path, monkeypatch, base, 1, new_params=gated,
                          new_metrics={**NEW_METRICS, HOSTILE_NAME: 0.8})
    # The gate message is text: shown as written, with an invisible word joiner
    # after '@', in '://' and after 'www' so that nothing is linked.
    joined = (HOSTILE_NAME.replace("@", "@" + WORD_JOINER).replace("://", ":" + WORD_JOINER + "//")
              .replace("www.", "www" + WORD_JOINER + "."))
    assert f"Gate FAILED: {joined} got worse by 0.1 (0.9 -> 0.8)" in report.text
    assert HOSTILE_NAME in report.code  # the primary line names it in code


@pytest.mark.parametrize("metric, base, new, expected", [
    ("roc_auc", 0.9, 0.95, "improved"), ("roc_auc", 0.95, 0.9, "regressed"),
    ("log_loss", 0.3, 0.2, "improved"), ("log_loss", 0.2, 0.3, "regressed"),
    ("accuracy", 0.9, 0.9, "unchanged"),
])
def test_direction_depends_on_the_metric(metric, base, new, expected):
    assert verdict(metric, base, new) == expected


def make_gate(report) -> subprocess.CompletedProcess:
    # --no-print-directory: under `make test` this is a sub-make, which would
    # otherwise print "Entering directory" lines around the output.
    return subprocess.run(["make", "-s", "--no-print-directory", "gate", f"REPORT={report}"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True)


def test_gate_fails_last_on_what_the_report_recorded(tmp_path, monkeypatch):
    base = {"params.yaml": params(), "metrics.json": BASE_METRICS, **plots(shift=0)}
    path, _, _ = make_repo(tmp_path, base, new_params=params(max_drop=0.01))
    monkeypatch.chdir(path)
    report, gate_file = path / "report.md", path / "report" / "gate-failure.txt"
    assert "missing: run make report" in make_gate(report).stderr
    # With a gate file, the report exits 0 so CI can post it; `make gate` fails after.
    assert main(["--base", "main", "--gate-file", str(gate_file)]) == 0
    assert "roc_auc got worse by 0.02" in gate_file.read_text()
    failed = make_gate(report)
    assert failed.returncode != 0 and "gate: failed: roc_auc got worse" in failed.stderr
    gate_file.unlink()
    assert make_gate(report).stdout.strip() == "gate: passed"


def test_unavailable_data_gives_no_metrics_and_fails_the_gate(tmp_path, monkeypatch):
    base = {"params.yaml": params(), "metrics.json": BASE_METRICS, **plots(shift=0)}
    path, _, _ = make_repo(tmp_path, base)
    monkeypatch.chdir(path)
    unavailable = path / "build" / "data-unavailable.txt"
    unavailable.parent.mkdir()
    unavailable.write_text("The DVC remote could not be read (no credentials).\n")
    gate_file = path / "report" / "gate-failure.txt"
    assert main(["--base", "main", "--gate-file", str(gate_file),
                 "--data-unavailable", str(unavailable)]) == 0
    report = (path / "report.md").read_text()
    assert "**Pipeline not reproduced.** The DVC remote could not be read" in report
    assert "| metric |" not in report and "roc_auc" not in report
    assert "not reproduced" in gate_file.read_text()


@pytest.mark.draws_images
def test_plots_link_to_the_ci_artifact_instead_of_being_uploaded(tmp_path, monkeypatch):
    base = {"params.yaml": params(), "metrics.json": BASE_METRICS, **plots(shift=0)}
    path, _, _ = make_repo(tmp_path, base)
    monkeypatch.chdir(path)
    url = "https://ci.example.com/runs/7"
    assert main(["--base", "main", "--artifact-url", url]) == 0
    report = (path / "report.md").read_text()
    assert f"in the [CI artifact]({url})" in report and "![" not in report
    assert (path / "report" / "roc.png").read_bytes().startswith(PNG_SIGNATURE)
