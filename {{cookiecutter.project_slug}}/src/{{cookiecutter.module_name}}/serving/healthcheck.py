"""Container HEALTHCHECK without curl: exit 0 when /ready answers 200.

`python -m {{ cookiecutter.module_name }}.serving.healthcheck` asks the server on 127.0.0.1:$PORT.
"""
import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/ready"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"{url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
