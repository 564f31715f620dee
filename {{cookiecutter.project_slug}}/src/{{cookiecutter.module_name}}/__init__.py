"""The project's package: pipeline stages, report, serving."""

__version__ = "0.1.0"
