"""Read a generated project's CI files the way each CI system would.

For each provider and each pipeline ("pull-request" or "main"): the ordered
Makefile targets it calls. For the Jenkinsfile, also its structure and the
shell steps of the stages that run (tests/support/ci_run.py executes them).

Every CI file calls `make <target>` once per line/step; anything else in it is
provider plumbing (tool set-up, logins) and is not a target.
"""
import re
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter_groovy
import yaml
from tree_sitter import Language, Parser

PROVIDERS = ("github", "gitlab", "jenkins")
PIPELINES = ("pull-request", "main", "promotion", "retrain")
# A stage tag as `make promote` pushes it (GTO: artifact#stage#number).
PROMOTION_TAG = "model#production#1"
# Where scripts/install-node-deps.sh (make node-deps) puts the npm tools.
NODE_BIN = Path(__file__).resolve().parents[2] / "build" / "node" / "node_modules" / ".bin"
MAKE_CALL = re.compile(r"(?:^|[\s;&|])make\s+([a-z][a-z-]*)")

GITHUB_WORKFLOWS = {"pull-request": ".github/workflows/pull-request.yml",
                    "main": ".github/workflows/main.yml",
                    "promotion": ".github/workflows/promote.yml",
                    "retrain": ".github/workflows/retrain.yml"}
# Jenkins runs retraining as a separate Pipeline job with its own file.
JENKINSFILES = {"retrain": "Jenkinsfile.retrain"}


def jenkinsfile(project: Path, pipeline: str) -> Path:
    return project / JENKINSFILES.get(pipeline, "Jenkinsfile")


def node_tool(name: str) -> str:
    """Path of an npm tool from make node-deps; a clear failure if it is missing."""
    path = NODE_BIN / name
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `make node-deps` "
                                "(scripts/install-node-deps.sh)")
    return str(path)


def make_targets(command: str) -> list:
    """Targets of the `make` calls in one shell command, in order."""
    return MAKE_CALL.findall(command)


# --- GitHub Actions -----------------------------------------------------------

def github_targets(project: Path, pipeline: str) -> list:
    return github_targets_of(project / GITHUB_WORKFLOWS[pipeline])


def github_targets_of(workflow_file: Path) -> list:
    workflow = yaml.safe_load(workflow_file.read_text())
    targets = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            targets += make_targets(step.get("run", ""))
    return targets


# --- GitLab CI ----------------------------------------------------------------

# The predefined variables each kind of pipeline has (GitLab's documented
# values; CI_COMMIT_BRANCH is not set in merge request pipelines).
GITLAB_CONTEXT = {
    "pull-request": {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_DEFAULT_BRANCH": "main",
                     "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
                     "CI_PROJECT_ID": "7", "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "7",
                     "CI_COMMIT_MESSAGE": "Change the model"},
    "main": {"CI_PIPELINE_SOURCE": "push", "CI_DEFAULT_BRANCH": "main",
             "CI_COMMIT_BRANCH": "main", "CI_COMMIT_MESSAGE": "Merge the change"},
    "promotion": {"CI_PIPELINE_SOURCE": "push", "CI_DEFAULT_BRANCH": "main",
                  "CI_COMMIT_TAG": PROMOTION_TAG, "CI_COMMIT_MESSAGE": "Promote the model"},
    "retrain": {"CI_PIPELINE_SOURCE": "schedule", "CI_DEFAULT_BRANCH": "main",
                "CI_COMMIT_BRANCH": "main", "CI_COMMIT_MESSAGE": "Merge the change"},
}
GITLAB_KEYWORDS = {"workflow", "stages", "variables", "default", "include", "image",
                   "services", "cache", "before_script", "after_script"}
CLAUSE = re.compile(r"^(\$\w+)\s*(==|!=|=~)\s*(\$\w+|\"[^\"]*\"|'[^']*'|/.*/)$")


def gitlab_condition(expression: str, variables: dict) -> bool:
    """Evaluate a `rules: if:` of the forms used here: clauses joined by && or ||."""
    def value(token):
        if token.startswith("$"):
            return variables.get(token[1:])
        return token[1:-1]

    def clause(text):
        match = CLAUSE.match(text.strip())
        if match is None:
            raise ValueError(f"unsupported rules:if clause: {text!r}")
        left, operator, right = match.groups()
        if operator == "=~":
            return re.search(right[1:-1], value(left) or "") is not None
        equal = value(left) == value(right)
        return equal if operator == "==" else not equal

    return any(all(clause(part) for part in alternative.split("&&"))
               for alternative in expression.split("||"))


def gitlab_rules_pass(rules: list, variables: dict) -> bool:
    """GitLab's rule semantics: the first rule whose `if` matches decides."""
    for rule in rules:
        if "if" not in rule or gitlab_condition(rule["if"], variables):
            return rule.get("when", "on_success") != "never"
    return False


def gitlab_jobs(project: Path, pipeline: str) -> list:
    """(name, job) of the jobs that run in ``pipeline``, in stage order."""
    config = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    variables = GITLAB_CONTEXT[pipeline]
    if not gitlab_rules_pass(config.get("workflow", {}).get("rules", [{}]), variables):
        return []
    stages = config.get("stages", ["build", "test", "deploy"])
    jobs = [(name, job) for name, job in config.items()
            if name not in GITLAB_KEYWORDS and not name.startswith(".")]
    selected = [(name, job) for name, job in jobs
                if gitlab_rules_pass(job.get("rules", [{}]), variables)]
    return sorted(selected, key=lambda item: stages.index(item[1].get("stage", "test")))


def gitlab_all_targets(config_file: Path) -> list:
    """Every job's make calls, in file order, whatever its rules."""
    config = yaml.safe_load(config_file.read_text())
    return [target for name, job in config.items()
            if name not in GITLAB_KEYWORDS and not name.startswith(".")
            for command in job.get("before_script", []) + job["script"]
            for target in make_targets(command)]


def gitlab_targets(project: Path, pipeline: str) -> list:
    targets = []
    for _, job in gitlab_jobs(project, pipeline):
        for command in job.get("before_script", []) + job["script"]:
            targets += make_targets(command)
    return targets


# --- Jenkins (declarative pipeline) --------------------------------------------

PARSER = Parser(Language(tree_sitter_groovy.language()))
STAGE_BODIES = ("steps", "parallel", "stages", "matrix")
# A multibranch build's context: the branch, the change-request marker, the
# message of the commit that started it (for `changelog`), and its `env`
# (CHANGE_FORK is set only for a change request from a fork).
JENKINS_CONTEXT = {
    "pull-request": {"branch": "PR-1", "change_request": True, "changelog": "Change the model",
                     "env": {}},
    "main": {"branch": "main", "change_request": False, "changelog": "Merge the change",
             "env": {}},
    # A multibranch tag build: BRANCH_NAME and TAG_NAME are the tag.
    "promotion": {"branch": PROMOTION_TAG, "tag": PROMOTION_TAG, "change_request": False,
                  "changelog": "Promote the model", "env": {}},
    "retrain": {"branch": "main", "change_request": False, "changelog": "Merge the change",
                "env": {}},
}
# The one form of `expression { }` this reader evaluates: env.NAME == / != null.
ENV_NULL_TEST = re.compile(r"env\.(\w+)\s*(==|!=)\s*null")


class JenkinsfileError(Exception):
    """The Jenkinsfile is not a declarative pipeline of the shape Jenkins accepts."""


@dataclass
class Step:
    """One `sh` step, with the credentials bound around it."""
    script: str
    credentials: list = field(default_factory=list)


@dataclass
class Stage:
    name: str
    when: object  # the `when` closure node, or None
    environment: dict
    steps: list  # Step; empty for a stage that groups `stages`
    children: list  # nested Stage


@dataclass
class Pipeline:
    agent: str
    environment: dict
    stages: list


def _text(node, source: bytes) -> str:
    return source[node.start_byte:node.end_byte].decode()


def _string(node, source: bytes) -> str:
    """The value of a Groovy string literal; GStrings keep `${...}` for interpolate()."""
    if node.type == "character_literal" or node.type == "string_literal":
        raw = _text(node, source)
        quote = 3 if raw[:3] in ("'''", '"""') else 1
        body = raw[quote:-quote]
        return re.sub(r"\\(.)", r"\1", body)
    raise JenkinsfileError(f"line {node.start_point[0] + 1}: expected a string, "
                           f"found {_text(node, source)!r}")


def _calls(closure):
    """(name, node) of each call or assignment directly inside a closure."""
    for child in closure.named_children:
        node = child.named_children[0] if child.type == "expression_statement" else child
        if node.type in ("method_invocation", "juxt_function_call"):
            yield node.child_by_field_name("name") or node.named_children[0], node
        elif node.type == "local_variable_declaration":  # `agent any`
            yield node.named_children[0], node
        elif node.type == "assignment_expression":
            yield node.named_children[0], node


def _closure(node):
    for child in node.named_children:
        if child.type == "closure":
            return child
    return None


def _arguments(node):
    for child in node.named_children:
        if child.type == "argument_list":
            return [arg for arg in child.named_children]
    return []


def _environment(closure, source: bytes) -> dict:
    values = {}
    for name, node in _calls(closure):
        if node.type != "assignment_expression":
            raise JenkinsfileError(f"environment: unexpected {_text(node, source)!r}")
        values[_text(name, source)] = _string(node.named_children[-1], source)
    return values


def _steps(closure, source: bytes, credentials=()) -> list:
    steps = []
    for name, node in _calls(closure):
        call = _text(name, source)
        if call == "sh":
            (argument,) = _arguments(node)
            steps.append(Step(_string(argument, source), list(credentials)))
        elif call == "withCredentials":
            bound = re.findall(r"(?:variable|usernameVariable|passwordVariable|keyFileVariable)"
                               r"\s*:\s*'(\w+)'", _text(_arguments(node)[0], source))
            steps += _steps(_closure(node), source, [*credentials, *bound])
        elif call in ("echo", "script"):
            raise JenkinsfileError(f"step {call!r}: keep steps to `sh 'make ...'`")
        else:
            steps += _steps(_closure(node), source, credentials) if _closure(node) else []
    return steps


def _stage(node, source: bytes) -> Stage:
    (name_node,) = _arguments(node)
    name = _string(name_node, source)
    sections = {_text(section, source): part for section, part in _calls(_closure(node))}
    bodies = [body for body in STAGE_BODIES if body in sections]
    if len(bodies) != 1:
        raise JenkinsfileError(f"stage {name!r} must have exactly one of "
                               f"{'/'.join(STAGE_BODIES)}, has {bodies or 'none'}")
    unknown = set(sections) - {*STAGE_BODIES, "when", "environment", "options", "agent",
                               "post", "input", "tools"}
    if unknown:
        raise JenkinsfileError(f"stage {name!r}: unknown section(s) {sorted(unknown)}")
    environment = (_environment(_closure(sections["environment"]), source)
                   if "environment" in sections else {})
    when = _closure(sections["when"]) if "when" in sections else None
    if bodies == ["stages"]:
        return Stage(name, when, environment, [], _stages(sections["stages"], source))
    if bodies != ["steps"]:
        raise JenkinsfileError(f"stage {name!r}: {bodies[0]} is not supported by this reader")
    return Stage(name, when, environment, _steps(_closure(sections["steps"]), source), [])


def _stages(node, source: bytes) -> list:
    stages = []
    for name, child in _calls(_closure(node)):
        if _text(name, source) != "stage":
            raise JenkinsfileError(f"stages: expected stage(...), found {_text(name, source)!r}")
        stages.append(_stage(child, source))
    if not stages:
        raise JenkinsfileError("stages: empty")
    return stages


def parse_jenkinsfile(path: Path) -> Pipeline:
    """The declarative pipeline in ``path``; JenkinsfileError if it has the wrong shape."""
    source = path.read_bytes()
    tree = PARSER.parse(source)
    if tree.root_node.has_error:
        raise JenkinsfileError(f"{path.name}: Groovy syntax error")
    top = [(_text(name, source), node) for name, node in _calls(tree.root_node)]
    if [name for name, _ in top] != ["pipeline"]:
        raise JenkinsfileError(f"{path.name}: expected exactly one pipeline {{}} block, "
                               f"found {[name for name, _ in top]}")
    sections = {}
    for name, node in _calls(_closure(top[0][1])):
        key = _text(name, source)
        if key in sections:
            raise JenkinsfileError(f"pipeline: duplicate section {key!r}")
        sections[key] = node
    for required in ("agent", "stages"):
        if required not in sections:
            raise JenkinsfileError(f"pipeline: missing {required!r}")
    agent = _text(sections["agent"], source).split(None, 1)[1].strip()
    environment = (_environment(_closure(sections["environment"]), source)
                   if "environment" in sections else {})
    return Pipeline(agent, environment, _stages(sections["stages"], source))


def _when(closure, source: bytes, context: dict) -> bool:
    """A `when` closure (or allOf): every condition in it holds."""
    return all(_condition(name, call, source, context) for name, call in _calls(closure)
               if _text(name, source) != "beforeAgent")


def _condition(name, call, source: bytes, context: dict) -> bool:
    condition = _text(name, source)
    arguments = _arguments(call)
    if condition == "changeRequest":
        return context["change_request"]
    if condition == "buildingTag":
        return context.get("tag") is not None
    if condition == "tag":
        text = _text(call, source)
        pattern = re.search(r"pattern:\s*'([^']*)'", text)
        if pattern is None or "comparator: 'REGEXP'" not in text:
            raise JenkinsfileError("when: only `tag pattern: '...', comparator: 'REGEXP'`")
        return (context.get("tag") is not None
                and re.fullmatch(pattern.group(1), context["tag"]) is not None)
    if condition == "branch":
        pattern = _string(arguments[0], source)
        return re.fullmatch(pattern.replace("*", ".*"), context["branch"]) is not None
    if condition == "changelog":
        pattern = _string(arguments[0], source)
        return re.fullmatch(pattern, context["changelog"], re.S) is not None
    if condition == "expression":
        match = ENV_NULL_TEST.fullmatch(_text(_closure(call), source)[1:-1].strip())
        if match is None:
            raise JenkinsfileError("when: only `expression { env.NAME == null }` is supported")
        name, operator = match.groups()
        return (context["env"].get(name) is None) == (operator == "==")
    if condition == "not":
        return not _when(_closure(call), source, context)
    if condition == "allOf":
        return _when(_closure(call), source, context)
    if condition == "anyOf":
        return any(_condition(inner_name, inner, source, context)
                   for inner_name, inner in _calls(_closure(call)))
    raise JenkinsfileError(f"when: condition {condition!r} is not supported by this reader")


def jenkins_stages(path: Path, pipeline: str, context: dict | None = None) -> list:
    """(stage path, environment, steps) of the leaf stages that run in ``pipeline``."""
    source = path.read_bytes()
    context = {**JENKINS_CONTEXT[pipeline], **(context or {})}
    parsed = parse_jenkinsfile(path)
    selected = []

    def visit(stages, prefix, environment):
        for stage in stages:
            if stage.when is not None and not _when(stage.when, source, context):
                continue
            scoped = {**environment, **stage.environment}
            if stage.children:
                visit(stage.children, [*prefix, stage.name], scoped)
            else:
                selected.append(([*prefix, stage.name], scoped, stage.steps))

    visit(parsed.stages, [], parsed.environment)
    return selected


def jenkins_targets(project: Path, pipeline: str) -> list:
    return [target for _, _, steps in jenkins_stages(jenkinsfile(project, pipeline), pipeline)
            for step in steps for target in make_targets(step.script)]


def jenkins_all_targets(jenkinsfile: Path) -> list:
    """Every stage's make calls, in file order, whatever its `when`."""
    def leaves(stages):
        for stage in stages:
            yield from leaves(stage.children) if stage.children else [stage]
    return [target for stage in leaves(parse_jenkinsfile(jenkinsfile).stages)
            for step in stage.steps for target in make_targets(step.script)]


def interpolate(value: str, environment: dict) -> str:
    """Groovy GString `${env.NAME}` / `${NAME}` against the build's environment."""
    return re.sub(r"\$\{(?:env\.)?(\w+)\}", lambda m: environment.get(m.group(1), ""), value)


TARGETS = {"github": github_targets, "gitlab": gitlab_targets, "jenkins": jenkins_targets}
