"""Alertmanager -> CI: start the retraining pipeline when a drift alert fires.

Alertmanager's webhook posts a fixed JSON body and cannot call a CI's trigger
API (each wants its own path, body and credentials), so this small relay
does: `python -m {{ cookiecutter.module_name }}.relay`. It is standard library
only and ships in the serving image. Settings are environment variables
(see `triggers.py` and `server.py`).
"""
