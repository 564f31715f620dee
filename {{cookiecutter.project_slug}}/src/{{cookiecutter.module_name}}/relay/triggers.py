"""The request that starts the retraining pipeline, one per CI provider.

Settings (environment variables):

    RELAY_PROVIDER    github | gitlab | jenkins
    TRIGGER_URL       github: API base URL (https://api.github.com)
                      gitlab: API base URL (https://gitlab.com/api/v4)
                      jenkins: the job's URL (https://jenkins.example.com/job/NAME)
    TRIGGER_PROJECT   github: OWNER/REPO; gitlab: the project's ID or path
    TRIGGER_TOKEN     github: a token with Actions write (workflow_dispatch);
                      gitlab: a pipeline trigger token; jenkins: the user's API token
    TRIGGER_USER      jenkins: the user the API token belongs to
    TRIGGER_REF       github, gitlab: the branch to run on (main)
    TRIGGER_WORKFLOW  github: the workflow file to dispatch (retrain.yml)
"""
import base64
import json
import urllib.parse
from dataclasses import dataclass

from {{ cookiecutter.module_name }}.webapi import form

DEFAULT_URLS = {"github": "https://api.github.com", "gitlab": "https://gitlab.com/api/v4"}
REQUIRED = {"github": ["TRIGGER_PROJECT", "TRIGGER_TOKEN"],
            "gitlab": ["TRIGGER_PROJECT", "TRIGGER_TOKEN"],
            "jenkins": ["TRIGGER_URL", "TRIGGER_USER", "TRIGGER_TOKEN"]}
# The name the retraining pipeline reads the reason from (a workflow input,
# a pipeline variable, a build parameter).
REASON = "RETRAIN_REASON"


@dataclass(frozen=True)
class TriggerRequest:
    method: str
    url: str
    headers: dict
    body: bytes


def github(settings: dict, reason: str) -> TriggerRequest:
    """workflow_dispatch: needs only Actions write, unlike repository_dispatch."""
    url = (f"{settings['TRIGGER_URL'].rstrip('/')}/repos/{settings['TRIGGER_PROJECT']}"
           f"/actions/workflows/{settings['TRIGGER_WORKFLOW']}/dispatches")
    body = {"ref": settings["TRIGGER_REF"], "inputs": {"reason": reason}}
    return TriggerRequest("POST", url, {
        "Authorization": f"Bearer {settings['TRIGGER_TOKEN']}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "Content-Type": "application/json"}, json.dumps(body).encode())


def gitlab(settings: dict, reason: str) -> TriggerRequest:
    """A pipeline trigger: the trigger token travels in the form body."""
    project = urllib.parse.quote(settings["TRIGGER_PROJECT"], safe="")
    url = f"{settings['TRIGGER_URL'].rstrip('/')}/projects/{project}/trigger/pipeline"
    body = form({"token": settings["TRIGGER_TOKEN"], "ref": settings["TRIGGER_REF"],
                 f"variables[{REASON}]": reason})
    return TriggerRequest("POST", url, {"Content-Type": "application/x-www-form-urlencoded"},
                          body)


def jenkins(settings: dict, reason: str) -> TriggerRequest:
    """buildWithParameters with an API token: basic auth, no CSRF crumb needed."""
    credentials = f"{settings['TRIGGER_USER']}:{settings['TRIGGER_TOKEN']}".encode()
    url = f"{settings['TRIGGER_URL'].rstrip('/')}/buildWithParameters"
    return TriggerRequest("POST", url, {
        "Authorization": "Basic " + base64.b64encode(credentials).decode(),
        "Content-Type": "application/x-www-form-urlencoded"}, form({REASON: reason}))


BUILDERS = {"github": github, "gitlab": gitlab, "jenkins": jenkins}


def settings_from(environ: dict) -> dict:
    """The provider's settings with defaults; raises ValueError naming what is missing."""
    provider = environ.get("RELAY_PROVIDER", "")
    if provider not in BUILDERS:
        raise ValueError(f"RELAY_PROVIDER must be one of {', '.join(BUILDERS)}, "
                         f"not {provider!r}")
    settings = {"RELAY_PROVIDER": provider,
                "TRIGGER_URL": environ.get("TRIGGER_URL") or DEFAULT_URLS.get(provider, ""),
                "TRIGGER_REF": environ.get("TRIGGER_REF") or "main",
                "TRIGGER_WORKFLOW": environ.get("TRIGGER_WORKFLOW") or "retrain.yml"}
    for name in ("TRIGGER_PROJECT", "TRIGGER_TOKEN", "TRIGGER_USER"):
        settings[name] = environ.get(name, "")
    missing = [name for name in REQUIRED[provider] if not settings[name]]
    if missing:
        raise ValueError(f"RELAY_PROVIDER={provider} needs {', '.join(missing)}")
    return settings


def build(settings: dict, reason: str) -> TriggerRequest:
    return BUILDERS[settings["RELAY_PROVIDER"]](settings, reason)
