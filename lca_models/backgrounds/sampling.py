"""Pre-sampled background results for Monte Carlo: K sampled versions of the database, solved once per version.

Sample k redraws every technosphere and biosphere amount from the database's own distributions (matrix_utils
`MappedMatrix` with `use_distributions=True`, as bw2calc's Monte Carlo does, but without `next(lca)`, which would
refactorise) and solves A'^T u = B'^T c for the total-method unit scores u of every activity (the characterisation
factors of IPCC 2021 carry no uncertainty). A fresh factorisation per sample costs seconds at ecoinvent size; the
nominal factorisation of A^T is a good preconditioner for A'^T instead: GMRES with M = A^-T converges in a few
iterations, each costing one solve on the nominal factors (milliseconds). A sample that does not converge is solved
with a fresh factorisation of A'^T; a sample whose matrix is singular (an empty row or column, e.g. a production
amount drawn as 0, or a factorisation that fails) or whose result is not finite is rejected, counted and redrawn
(the random streams simply advance, so the result stays deterministic by seed). More than `max_rejections` ends the
stage with `SamplingFailed`.

Technosphere and biosphere draw from independent streams (two seeds spawned from `seed`): bw2calc gives both the
same seed, which pairs the k-th uncertain exchange of one with the k-th of the other.

The K samples are drawn in `CHUNKS` = 2 independent streams (seeds spawned from `seed` and the chunk's index), one
per core when two are available (spawned processes, each loading the matrices and factorising once): the samples
do not depend on how many cores ran them.

A footprint's Monte Carlo then draws, in iteration n, sample n mod K of every imported activity it uses (one joint
draw keeps the correlation between activities of the same database); docs/backgrounds-engine.md states the
approximation and its tolerances.
"""

import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, gmres

from lca_models.backgrounds.pack import MANIFEST, SAMPLES, PreparedBackground, save_array_atomic, write_json_atomic
from lca_models.backgrounds.prepare import Matrices, bw2data_for, in_project, load_matrices
from lca_models.backgrounds.solver import Factorisation, SingularMatrix, factorise

Progress = Callable[[str, float], None]
RTOL = 1e-10  # relative residual of every accepted sample (far below the spread of any sampled result)
CHUNKS = 2  # independent sample streams (fixed, so the samples do not depend on the machine's cores)
REFINEMENTS = 30  # iterative-refinement steps before GMRES takes over
RESTART, MAX_CYCLES = 40, 2


class SamplingFailed(RuntimeError):
    """Too many sampled matrices were rejected (singular, not converging, not finite)."""


@dataclass
class SampleStats:
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    fallbacks: int = 0  # solved with a fresh factorisation
    iterations: list[int] = field(default_factory=list)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def reject(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1


def _structurally_singular(matrix: sp.csr_matrix) -> bool:
    """An empty row or column (all amounts zero) makes A' singular whatever the solver."""
    absolute = abs(matrix)
    return bool((np.asarray(absolute.sum(axis=0)).ravel() == 0).any() or (absolute.sum(axis=1) == 0).any())


def _residual(matrix, x: np.ndarray, rhs: np.ndarray) -> float:
    scale = float(np.linalg.norm(rhs)) or 1.0
    return float(np.linalg.norm(matrix @ x - rhs)) / scale


def solve_sample(
    transposed: sp.csc_matrix,
    rhs: np.ndarray,
    nominal: Factorisation,
    x0: np.ndarray,
    solver: str,
    stats: SampleStats,
) -> np.ndarray | None:
    """u with A'^T u = rhs, or None (the reason counted in `stats`).

    First iterative refinement on the nominal factors (x += A^-T (rhs - A'^T x): one solve and one product per step,
    linear convergence at the rate of the spectral radius of I - A^-T A'^T, small for sampled amounts), then GMRES
    preconditioned by the same factors if that stalls, then a fresh factorisation."""
    scale = float(np.linalg.norm(rhs)) or 1.0
    x = x0.copy()
    for step in range(REFINEMENTS):
        residual = rhs - transposed @ x
        if float(np.linalg.norm(residual)) <= RTOL * scale:
            stats.iterations.append(step)
            return x
        x += nominal.solve_transposed(residual)
        if not np.isfinite(x).all():
            break
    n = transposed.shape[0]
    iterations = [0]

    def count(_):
        iterations[0] += 1

    preconditioner = LinearOperator((n, n), matvec=nominal.solve_transposed, dtype=np.float64)
    x, info = gmres(
        transposed,
        rhs,
        x0=x0,
        rtol=RTOL,
        atol=0.0,
        restart=RESTART,
        maxiter=MAX_CYCLES,
        M=preconditioner,
        callback=count,
        callback_type="pr_norm",
    )
    if info == 0 and np.isfinite(x).all() and _residual(transposed, x, rhs) <= RTOL * 10:
        stats.iterations.append(iterations[0])
        return x
    stats.fallbacks += 1
    try:
        x = factorise(transposed.T, solver).solve_transposed(rhs)
    except SingularMatrix:
        stats.reject("singular")
        return None
    if not np.isfinite(x).all():
        stats.reject("not_finite")
        return None
    if _residual(transposed, x, rhs) > 1e-6:  # factorised, but too ill-conditioned to trust
        stats.reject("ill_conditioned")
        return None
    return x


def draw_samples(
    matrices: Matrices,
    count: int,
    seed: int,
    *,
    solver: str = "superlu",
    progress: Progress | None = None,
    max_rejections: int | None = None,
    nominal: Factorisation | None = None,
) -> tuple[np.ndarray, SampleStats]:
    """(products, count) total-method unit scores of `count` accepted samples, and the statistics."""
    import matrix_utils as mu

    if count < 1:
        raise ValueError("samples: at least 1")
    cap = max_rejections if max_rejections is not None else max(10, count // 4)
    progress = progress or (lambda stage, fraction: None)
    lca = matrices.lca
    nominal = nominal or factorise(matrices.technosphere, solver)
    technosphere_seed, biosphere_seed = (int(s) for s in np.random.SeedSequence(seed).generate_state(2))
    technosphere = mu.MappedMatrix(
        packages=matrices.inventory_packages,
        matrix="technosphere_matrix",
        use_distributions=True,
        seed_override=technosphere_seed,
        row_mapper=lca.technosphere_mm.row_mapper,
        col_mapper=lca.technosphere_mm.col_mapper,
    )
    biosphere = mu.MappedMatrix(
        packages=matrices.inventory_packages,
        matrix="biosphere_matrix",
        use_distributions=True,
        seed_override=biosphere_seed,
        row_mapper=lca.biosphere_mm.row_mapper,
        col_mapper=lca.technosphere_mm.col_mapper,
        empty_ok=True,
    )
    characterisation = matrices.characterisation[0]
    x0 = nominal.solve_transposed(matrices.biosphere.T @ characterisation)
    scores = np.empty((matrices.technosphere.shape[0], count))
    stats = SampleStats()
    report_every = max(1, count // 100)
    first = True
    while stats.accepted < count:
        if not first:  # the matrices built at construction are the first draw
            next(technosphere)
            next(biosphere)
        first = False
        sampled = sp.csr_matrix(technosphere.matrix)
        if not np.isfinite(sampled.data).all():
            stats.reject("not_finite")
            solution = None
        elif _structurally_singular(sampled):
            stats.reject("singular")
            solution = None
        else:
            rhs = biosphere.matrix.T @ characterisation
            solution = solve_sample(sampled.T.tocsc(), rhs, nominal, x0, solver, stats)
        if solution is None:
            if stats.rejected_total > cap:
                raise SamplingFailed(
                    f"{stats.rejected_total} sampled matrices rejected ({stats.rejected}), more than the cap of {cap}"
                    f" for {count} samples: the database's uncertainty makes its matrix singular too often"
                )
            continue
        scores[:, stats.accepted] = solution
        stats.accepted += 1
        if stats.accepted % report_every == 0:
            progress("sampling", stats.accepted / count)
    return scores, stats


def chunk_counts(count: int) -> list[int]:
    return [count * (c + 1) // CHUNKS - count * c // CHUNKS for c in range(CHUNKS)]


def chunk_seed(seed: int, chunk: int) -> int:
    return int(np.random.SeedSequence([seed, chunk]).generate_state(1)[0])


_chunk_progress = None  # shared array of accepted samples per chunk, in a worker process


def _init_worker(progress_array) -> None:
    global _chunk_progress
    _chunk_progress = progress_array


def _sample_chunk(
    brightway_dir: str,
    project: str,
    database: str,
    methods: dict,
    chunk: int,
    count: int,
    seed: int,
    solver: str,
    cap: int,
) -> tuple[np.ndarray, SampleStats]:
    """One stream of samples in a worker process (loads and factorises the database itself)."""
    bd = bw2data_for(Path(brightway_dir))
    matrices = load_matrices(bd, project, database, methods)

    def progress(_stage: str, fraction: float) -> None:
        if _chunk_progress is not None:
            _chunk_progress[chunk] = fraction * count

    return draw_samples(matrices, count, seed, solver=solver, progress=progress, max_rejections=cap)


def _daemonic() -> bool:
    import multiprocessing

    return bool(multiprocessing.current_process().daemon)


def _draw_in_workers(
    brightway_dir: str,
    project: str,
    database: str,
    methods: dict,
    samples: int,
    seed: int,
    solver: str,
    cap: int,
    workers: int,
    progress: Progress,
) -> list[tuple[np.ndarray, SampleStats]]:
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # no fork of a possibly threaded service process
    done = context.Array("d", CHUNKS)
    counts = chunk_counts(samples)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(done,)) as pool:
        futures = [
            pool.submit(
                _sample_chunk,
                brightway_dir,
                project,
                database,
                methods,
                c,
                counts[c],
                chunk_seed(seed, c),
                solver,
                cap,
            )
            for c in range(CHUNKS)
        ]
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=1.0, return_when=FIRST_EXCEPTION)
            for future in finished:
                future.result()  # a worker's SamplingFailed ends the stage here
            progress("sampling", min(1.0, sum(done[:]) / samples))
        return [future.result() for future in futures]


def sample_pack(
    project: str,
    database: str,
    out: Path,
    *,
    samples: int = 1000,
    seed: int,
    solver: str = "superlu",
    progress: Progress | None = None,
    max_rejections: int | None = None,
    brightway_dir: Path | None = None,
    workers: int | None = None,
) -> dict:
    """Add `samples.npy` (n, K) to the prepared pack `out`; the updated manifest. The database must be the one the
    pack was prepared from (same digest). `workers`: processes drawing the `CHUNKS` streams (default: one per core,
    at most `CHUNKS`); the samples are the same whatever the number."""
    from lca_models.backgrounds.pack import PackError
    from lca_models.backgrounds.prepare import digest

    out = Path(out)
    pack = PreparedBackground.open(out)
    bd = bw2data_for(brightway_dir)
    methods = {key: tuple(value) for key, value in pack.manifest["methods"].items()}
    started = time.perf_counter()
    with in_project(bd, project):
        matrices = load_matrices(bd, project, database, methods)
        base_dir = str(Path(bd.projects._base_data_dir))
    codes = [pack.activity(i).code for i in range(len(pack))]
    if digest(matrices, codes, methods) != pack.digest:
        raise PackError(f"{out}: database {database!r} changed since the pack was prepared; prepare it again")
    if samples < CHUNKS:
        raise ValueError(f"samples: at least {CHUNKS}")
    cap = max_rejections if max_rejections is not None else max(10, samples // 4)
    workers = workers or min(CHUNKS, os.cpu_count() or 1)
    if workers > 1 and _daemonic():  # a Celery prefork worker may not start processes: draw in this one
        workers = 1
    progress = progress or (lambda stage, fraction: None)
    setup = time.perf_counter() - started
    started = time.perf_counter()
    if workers > 1:
        chunks = _draw_in_workers(
            base_dir,
            project,
            database,
            methods,
            samples,
            seed,
            solver,
            cap,
            workers,
            progress,
        )
    else:
        nominal = factorise(matrices.technosphere, solver)
        chunks, before = [], 0
        for c, count in enumerate(chunk_counts(samples)):

            def report(stage: str, fraction: float, before=before, count=count) -> None:
                progress(stage, (before + fraction * count) / samples)

            chunks.append(
                draw_samples(
                    matrices,
                    count,
                    chunk_seed(seed, c),
                    solver=solver,
                    progress=report,
                    max_rejections=cap,
                    nominal=nominal,
                )
            )
            before += count
    progress("sampling", 1.0)
    scores = np.hstack([chunk for chunk, _ in chunks])
    stats = SampleStats()
    for _, chunk_stats in chunks:
        stats.accepted += chunk_stats.accepted
        stats.fallbacks += chunk_stats.fallbacks
        stats.iterations += chunk_stats.iterations
        for reason, n in chunk_stats.rejected.items():
            stats.rejected[reason] = stats.rejected.get(reason, 0) + n
    if stats.rejected_total > cap:
        raise SamplingFailed(
            f"{stats.rejected_total} sampled matrices rejected ({stats.rejected}), more than the cap of {cap} for "
            f"{samples} samples: the database's uncertainty makes its matrix singular too often"
        )
    sampling = time.perf_counter() - started
    save_array_atomic(out / SAMPLES, scores)
    manifest = dict(pack.manifest)
    manifest.update(
        {
            "samples": samples,
            "sample_seed": seed,
            "rejected_samples": stats.rejected_total,
            "rejected_reasons": stats.rejected,
            "sample_fallbacks": stats.fallbacks,
            "sample_iterations_mean": float(np.mean(stats.iterations)) if stats.iterations else None,
            "sample_workers": workers,
        }
    )
    manifest["seconds"] = {
        **manifest.get("seconds", {}),
        "sampling_setup": setup,
        "sampling": sampling,
        "per_sample": sampling / samples,
    }
    write_json_atomic(out / MANIFEST, manifest)
    return manifest
