"""The {{ cookiecutter.project_name }} package: pipeline stages, report, serving."""

__version__ = "0.1.0"
