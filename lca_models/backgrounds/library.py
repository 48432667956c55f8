"""The prepared backgrounds of a deployment: `<root>/<name>/<version>/` packs and the version in use per name.

`current.json` in `<root>/<name>/` names the active version; `activate` rewrites it atomically (temporary file and
rename), so every process switches at its next `current()` call, which costs one `stat` and reopens the pack only
when the file changed. Opened packs are memory-mapped and cached per process.
"""

import json
import os
import re
import shutil
import threading
from pathlib import Path

from lca_models.backgrounds.pack import MANIFEST, PackError, PreparedBackground, write_json_atomic

CURRENT = "current.json"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")


def _checked(part: str, what: str) -> str:
    """A database name or version becomes a directory name: no separators, no dot-dot."""
    if not isinstance(part, str) or not _NAME.fullmatch(part) or ".." in part:
        raise ValueError(f"{what}: {part!r} is not a valid name (letters, digits, . _ + -; at most 128)")
    return part


class BackgroundLibrary:
    def __init__(self, root: Path):
        self.root = Path(root)
        self._lock = threading.Lock()
        self._open: dict[Path, tuple[float, PreparedBackground]] = {}
        self._current: dict[str, tuple[tuple[int, int], str | None]] = {}

    def path(self, name: str, version: str) -> Path:
        return self.root / _checked(name, "name") / _checked(version, "version")

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def versions(self, name: str) -> list[str]:
        folder = self.root / _checked(name, "name")
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if (p / MANIFEST).is_file() and not p.name.startswith("."))

    def get(self, name: str, version: str) -> PreparedBackground | None:
        """The pack of that version, or None when it is not prepared. Reopened only when its manifest changed (a
        re-preparation or added samples)."""
        path = self.path(name, version)
        try:
            stamp = (path / MANIFEST).stat().st_mtime_ns
        except FileNotFoundError:
            return None
        with self._lock:
            cached = self._open.get(path)
            if cached is not None and cached[0] == stamp:
                return cached[1]
        try:
            pack = PreparedBackground.open(path)
        except PackError:
            return None
        if (pack.name, pack.version) != (name, version):  # a pack copied under another name is not that version
            return None
        with self._lock:
            self._open[path] = (stamp, pack)
        return pack

    def current_version(self, name: str) -> str | None:
        marker = self.root / _checked(name, "name") / CURRENT
        try:
            stat = marker.stat()
        except FileNotFoundError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_ino)
        cached = self._current.get(name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            version = json.loads(marker.read_text())["version"]
        except (OSError, ValueError, KeyError, TypeError):  # unreadable, not JSON, not an object
            version = None
        if not (isinstance(version, str) and _NAME.fullmatch(version) and ".." not in version):
            version = None  # a marker naming no valid version names none
        self._current[name] = (stamp, version)
        return version

    def current(self, name: str) -> PreparedBackground | None:
        version = self.current_version(name)
        return None if version is None else self.get(name, version)

    def activate(self, name: str, version: str) -> None:
        """Make `version` the one in use (atomic: readers see the old or the new version, never a half-written
        marker). Raises FileNotFoundError when that version is not prepared."""
        path = self.path(name, version)
        if not (path / MANIFEST).is_file():
            raise FileNotFoundError(f"{name} {version} is not prepared")
        write_json_atomic(self.root / name / CURRENT, {"name": name, "version": version})

    def deactivate(self, name: str) -> None:
        (self.root / _checked(name, "name") / CURRENT).unlink(missing_ok=True)

    def remove(self, name: str, version: str) -> None:
        """Delete a prepared version (the active one is deactivated first). Processes that still map its arrays
        keep reading them until they drop the pack (POSIX keeps unlinked files alive)."""
        path = self.path(name, version)
        if self.current_version(name) == version:
            self.deactivate(name)
        if path.exists():
            trash = path.with_name(f".{path.name}.removed")
            os.rename(path, trash)
            shutil.rmtree(trash, ignore_errors=True)
        with self._lock:
            self._open.pop(path, None)
