"""Open, or update, the one pull/merge request of a retraining branch.

GitHub (REST `POST /repos/{owner}/{repo}/pulls`) and GitLab
(`POST /projects/:id/merge_requests`). An open request from the same branch is
updated instead of duplicated, so repeated retraining runs keep one request.
"""
import urllib.parse

from {{ cookiecutter.module_name }}.webapi import call_json

DEFAULT_API_URLS = {"github": "https://api.github.com", "gitlab": "https://gitlab.com/api/v4"}


class GitHub:
    def __init__(self, api_url: str, repository: str, token: str):
        self.base = f"{api_url.rstrip('/')}/repos/{repository}/pulls"
        self.owner = repository.split("/")[0]
        self.headers = {"Authorization": f"Bearer {token}",
                        "Accept": "application/vnd.github+json",
                        "X-GitHub-Api-Version": "2022-11-28"}

    def find_open(self, branch: str, base: str) -> list:
        query = urllib.parse.urlencode({"state": "open", "head": f"{self.owner}:{branch}",
                                        "base": base})
        return call_json("GET", f"{self.base}?{query}", self.headers)

    def create(self, branch: str, base: str, title: str, body: str) -> str:
        pull = call_json("POST", self.base, self.headers,
                         {"title": title, "head": branch, "base": base, "body": body})
        return pull["html_url"]

    def update(self, existing: dict, title: str, body: str) -> str:
        pull = call_json("PATCH", f"{self.base}/{existing['number']}", self.headers,
                         {"title": title, "body": body})
        return pull["html_url"]


class GitLab:
    def __init__(self, api_url: str, project: str, token: str):
        # A project path (group/name) must be URL-encoded; a numeric ID stays as is.
        project_id = urllib.parse.quote(project, safe="")
        self.base = f"{api_url.rstrip('/')}/projects/{project_id}/merge_requests"
        self.headers = {"PRIVATE-TOKEN": token}

    def find_open(self, branch: str, base: str) -> list:
        query = urllib.parse.urlencode({"state": "opened", "source_branch": branch,
                                        "target_branch": base})
        return call_json("GET", f"{self.base}?{query}", self.headers)

    def create(self, branch: str, base: str, title: str, body: str) -> str:
        request = call_json("POST", self.base, self.headers,
                            {"source_branch": branch, "target_branch": base, "title": title,
                             "description": body, "remove_source_branch": True})
        return request["web_url"]

    def update(self, existing: dict, title: str, body: str) -> str:
        request = call_json("PUT", f"{self.base}/{existing['iid']}", self.headers,
                            {"title": title, "description": body})
        return request["web_url"]


def open_or_update(api, branch: str, base: str, title: str, body: str) -> str:
    """Update the open request from ``branch`` to ``base``, or open one; say which."""
    existing = api.find_open(branch, base)
    if existing:
        return f"updated {api.update(existing[0], title, body)}"
    return f"opened {api.create(branch, base, title, body)}"


PROVIDERS = {"github": GitHub, "gitlab": GitLab}


def client(provider: str, api_url: str, repository: str, token: str):
    """The provider's client; raises ValueError naming what is missing."""
    if provider not in PROVIDERS:
        raise ValueError(f"HOSTING must be one of {', '.join(PROVIDERS)}, not {provider!r}")
    missing = [name for name, value in (("HOSTING_REPO", repository), ("REPO_TOKEN", token))
               if not value]
    if missing:
        raise ValueError(f"HOSTING={provider} needs {' and '.join(missing)}")
    return PROVIDERS[provider](api_url or DEFAULT_API_URLS[provider], repository, token)
