"""`make bench`: run every benchmark of bench/ and print its figures."""

import importlib
import pkgutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    import bench

    for module in sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_")):
        print(f"== {module}")
        importlib.import_module(f"bench.{module}").main()
        print()


if __name__ == "__main__":
    main()
