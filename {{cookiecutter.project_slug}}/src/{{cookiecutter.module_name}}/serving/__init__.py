"""The prediction API: FastAPI + onnxruntime, served by uvicorn.

Imports only numpy, onnxruntime, fastapi, pydantic, prometheus_client and
uvicorn, so the serving image carries no scikit-learn, pandas or DVC.
Run it with `python -m {{ cookiecutter.module_name }}.serving` (or `make serve`).
"""
