"""Serve the API with uvicorn: `python -m {{ cookiecutter.module_name }}.serving`.

One process, one event loop (uvloop + httptools); scale out with replicas.
HOST and PORT choose the address (default 127.0.0.1:8000). Every connection is
bounded (serving/connection_limits.py and MAX_CONNECTIONS): see config.py. The
prediction routes skip uvicorn's ASGI machinery (serving/direct_routes.py).
"""
import logging
import sys

import uvicorn

from {{ cookiecutter.module_name }}.serving.app import create_app
from {{ cookiecutter.module_name }}.serving.config import Settings, SettingsError
from {{ cookiecutter.module_name }}.serving.direct_routes import serving_protocol


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2
    # No access log: one line per request would cost more than the prediction.
    # Beyond MAX_CONNECTIONS open connections (or requests in flight), uvicorn
    # answers 503 at once instead of queueing without bound.
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port,
                http=serving_protocol(settings, app),
                limit_concurrency=settings.max_connections,
                access_log=False, server_header=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
