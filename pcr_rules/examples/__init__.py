"""One realistic inventory per product category, shipped with the package (the demo loads them; `pcf example`
prints them), so an installed service has them without the source tree."""

import json
from importlib import resources
from pathlib import Path


def paths() -> list[Path]:
    folder = resources.files(__name__)
    return sorted(Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".json"))


def path(name: str) -> Path:
    found = next((p for p in paths() if p.name in (name, f"{name}.json")), None)
    if found is None:
        raise FileNotFoundError(f"no example {name!r} (one of {', '.join(p.stem for p in paths())})")
    return found


def load(name: str) -> dict:
    return json.loads(path(name).read_text(encoding="utf-8"))
