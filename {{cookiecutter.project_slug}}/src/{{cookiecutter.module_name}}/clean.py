"""Remove the pipeline's cached outputs (make clean); `dvc checkout` restores them."""
import shutil
import sys

from {{ cookiecutter.module_name }} import paths


def main() -> int:
    for path in paths.CACHED_OUTPUTS:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        print(f"removed {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
