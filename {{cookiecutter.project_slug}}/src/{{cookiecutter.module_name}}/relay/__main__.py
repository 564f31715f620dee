"""Run the relay (settings: server.py, triggers.py):

    python -m {{ cookiecutter.module_name }}.relay
"""
import os
import sys

from {{ cookiecutter.module_name }}.relay.server import Relay, RelayServer
from {{ cookiecutter.module_name }}.relay.triggers import settings_from


def main() -> int:
    try:
        settings = settings_from(os.environ)
        token = os.environ.get("RELAY_TOKEN", "")
        if not token:
            raise ValueError("RELAY_TOKEN is required (the bearer token Alertmanager sends)")
        cooldown = float(os.environ.get("RELAY_COOLDOWN_SECONDS", "3600"))
        port = int(os.environ.get("RELAY_PORT", "9095"))
    except ValueError as error:
        print(f"ERROR: retrain relay: {error}", file=sys.stderr)
        return 2
    address = (os.environ.get("RELAY_HOST", "0.0.0.0"), port)
    server = RelayServer(address, Relay(settings, cooldown), token)
    print(f"retrain relay: {settings['RELAY_PROVIDER']} on {address[0]}:{server.server_port}, "
          f"cool-down {cooldown:.0f}s", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
