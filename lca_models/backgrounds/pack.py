"""The prepared background pack on disk, and its memory-mapped reader.

A pack is one database version prepared once (`prepare.prepare_pack`), in `<root>/<name>/<version>/`:

    manifest.json      name, version, digest, counts, methods, gases, gas_factors, solver, samples, rejected_samples,
                       seconds per stage, prepared_at
    activities.json    per column: code, name, reference_product, location, unit
    unit_scores.npy    (4, n) float64, METHOD_ORDER (total, fossil, biogenic, land_use): C B A^-1
    gas_masses.npy     (g, n) float64: kg of each gas group per unit of each activity, whole supply chain;
                       the group "other" is kg CO2e of every other characterised flow
    gases.json         the g group keys
    direct_scores.npy  (n,) total-method score of each activity's own emissions per unit of its product
    samples.npy        (n, K) float64 total-method unit scores of K sampled databases (absent until sampled)

Arrays are opened with `np.load(mmap_mode="r")`: every process maps the same pages of the page cache (nothing copied
per worker) and the arrays are read-only (writing raises). Writes go to a temporary name beside the target and are
renamed into place, so a reader sees a whole pack or none.
"""

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

MANIFEST = "manifest.json"
ACTIVITIES = "activities.json"
GASES = "gases.json"
UNIT_SCORES = "unit_scores.npy"
GAS_MASSES = "gas_masses.npy"
DIRECT_SCORES = "direct_scores.npy"
SAMPLES = "samples.npy"
GAS_OTHER = "other"
FORMAT = 1


class ActivityInfo(NamedTuple):
    code: str
    name: str
    reference_product: str
    location: str
    unit: str


class PackError(ValueError):
    """The directory holds no complete pack."""


def _write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1 if path.name == MANIFEST else None))


def write_file_atomic(path: Path, write) -> None:
    """`write(temporary_path)` then rename over `path` (atomic on one file system)."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_json_atomic(path: Path, value) -> None:
    write_file_atomic(path, lambda temporary: _write_json(temporary, value))


def save_array_atomic(path: Path, array: np.ndarray) -> None:
    def write(temporary: Path) -> None:
        with open(temporary, "wb") as handle:
            np.save(handle, np.ascontiguousarray(array, dtype=np.float64))
            handle.flush()
            os.fsync(handle.fileno())

    write_file_atomic(path, write)


def write_pack(
    out: Path,
    *,
    manifest: dict,
    activities: list[dict],
    gases: list[str],
    unit_scores: np.ndarray,
    gas_masses: np.ndarray,
    direct_scores: np.ndarray,
) -> None:
    """Write a whole pack into a temporary directory beside `out`, then rename it to `out` (replacing an older pack
    of the same version: the old directory is moved aside first and removed after)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.parent / f".{out.name}.{uuid.uuid4().hex}.tmp"
    temporary.mkdir()
    try:
        for name, array in ((UNIT_SCORES, unit_scores), (GAS_MASSES, gas_masses), (DIRECT_SCORES, direct_scores)):
            np.save(temporary / name, np.ascontiguousarray(array, dtype=np.float64))
        _write_json(temporary / ACTIVITIES, activities)
        _write_json(temporary / GASES, gases)
        _write_json(temporary / MANIFEST, manifest)
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.{uuid.uuid4().hex}.old"
            os.rename(out, old)
        os.rename(temporary, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)


@dataclass
class PreparedBackground:
    """A prepared pack, opened read-only. Arrays are memory-mapped; nothing is read until used."""

    path: Path
    manifest: dict
    gases: tuple[str, ...]
    unit_scores: np.ndarray
    gas_masses: np.ndarray
    direct_scores: np.ndarray
    samples: np.ndarray | None

    @classmethod
    def open(cls, path: Path) -> "PreparedBackground":
        """The pack in `path`, checked whole before anything reads it: a manifest naming its database, version and
        digest and a factor per gas group, and arrays whose shapes agree with the activity list
        (a cut or foreign file is refused here, as PackError, not met later as an IndexError in a footprint)."""
        path = Path(path)
        try:
            manifest = json.loads((path / MANIFEST).read_text())
            gases = tuple(json.loads((path / GASES).read_text()))
            arrays = {name: np.load(path / name, mmap_mode="r") for name in (UNIT_SCORES, GAS_MASSES, DIRECT_SCORES)}
            samples = np.load(path / SAMPLES, mmap_mode="r") if (path / SAMPLES).exists() else None
            rows = json.loads((path / ACTIVITIES).read_text())
        except (OSError, ValueError) as error:
            raise PackError(f"{path}: not a prepared background ({error})") from error
        _check(path, manifest, gases, rows, arrays, samples)
        pack = cls(
            path=path,
            manifest=manifest,
            gases=gases,
            unit_scores=arrays[UNIT_SCORES],
            gas_masses=arrays[GAS_MASSES],
            direct_scores=arrays[DIRECT_SCORES],
            samples=samples,
        )
        pack._activity_rows = rows
        pack._columns = {row["code"]: i for i, row in enumerate(rows)}
        return pack

    @property
    def name(self) -> str:
        return self.manifest["name"]

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def digest(self) -> str:
        return self.manifest["digest"]

    @property
    def sample_count(self) -> int:
        return 0 if self.samples is None else int(self.samples.shape[1])

    @property
    def gas_factors(self) -> np.ndarray:
        """kg CO2e per kg of each gas group (total method); 1.0 for "other", already in kg CO2e."""
        factors = self.manifest["gas_factors"]
        return np.array([factors[g] for g in self.gases])

    def _activities(self) -> list[dict]:
        if not hasattr(self, "_activity_rows"):
            self._activity_rows = json.loads((self.path / ACTIVITIES).read_text())
            self._columns = {row["code"]: i for i, row in enumerate(self._activity_rows)}
        return self._activity_rows

    def column(self, code: str) -> int | None:
        self._activities()
        return self._columns.get(code)

    def activity(self, column: int) -> ActivityInfo:
        row = self._activities()[column]
        return ActivityInfo(row["code"], row["name"], row["reference_product"], row["location"], row["unit"])

    def __len__(self) -> int:
        return int(self.unit_scores.shape[1])


def _check(path: Path, manifest, gases, rows, arrays, samples) -> None:
    def refuse(why: str) -> None:
        raise PackError(f"{path}: not a prepared background ({why})")

    if not isinstance(manifest, dict) or not all(
        isinstance(manifest.get(k), str) for k in ("name", "version", "digest")
    ):
        refuse("its manifest names no database, version or digest")
    factors = manifest.get("gas_factors")
    if not isinstance(factors, dict) or any(g not in factors for g in gases):
        refuse("its manifest has no factor for every gas group")
    if not isinstance(rows, list) or not all(isinstance(r, dict) and isinstance(r.get("code"), str) for r in rows):
        refuse("its activity list is not a list of activities")
    n = len(rows)
    expected = {
        UNIT_SCORES: (4, n),  # the four methods of lca_models.model.METHOD_ORDER
        GAS_MASSES: (len(gases), n),
        DIRECT_SCORES: (n,),
    }
    for name, shape in expected.items():
        if arrays[name].shape != shape:
            refuse(f"{name} has shape {arrays[name].shape}, {shape} expected")
    if samples is not None and (samples.ndim != 2 or samples.shape[0] != n):
        refuse(f"{SAMPLES} has shape {samples.shape}, ({n}, K) expected")
