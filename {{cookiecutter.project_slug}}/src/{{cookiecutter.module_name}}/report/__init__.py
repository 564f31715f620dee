"""The pull-request report: params, metrics and plots of the workspace against a base.

``python -m {{ cookiecutter.module_name }}.report --base main`` (``make report``) writes
``report.md`` and ``report/*.png``. Everything is read from git and the work
tree: metrics and plot data are git-tracked (``cache: false`` in dvc.yaml), so
no DVC remote and no network is needed, except one ``git fetch`` of the base
in a shallow CI clone.
"""


class ReportError(Exception):
    """The report cannot be made honestly (e.g. the base metrics are unreadable)."""
