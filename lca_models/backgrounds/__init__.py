"""Imported background databases at ecoinvent scale: prepared once per version into memory-mapped packs.

`prepare_pack` factorises the database once (explicit solver, `solver.py`) and stores per-activity results (unit
scores per method, gas masses per gas group, direct scores); `sample_pack` adds pre-sampled total unit scores for
Monte Carlo; `BackgroundLibrary` finds the version in use; `synthetic` generates ecoinvent-sized test databases.
The method and its approximations: docs/backgrounds-engine.md.
"""

from lca_models.backgrounds.library import BackgroundLibrary
from lca_models.backgrounds.pack import GAS_OTHER, ActivityInfo, PackError, PreparedBackground
from lca_models.backgrounds.prepare import prepare_pack
from lca_models.backgrounds.sampling import SamplingFailed, sample_pack
from lca_models.backgrounds.solver import SingularMatrix, SolverUnavailable, factorise, solver_report
from lca_models.backgrounds.synthetic import synthetic_database, write_synthetic

__all__ = [
    "GAS_OTHER",
    "ActivityInfo",
    "BackgroundLibrary",
    "PackError",
    "PreparedBackground",
    "SamplingFailed",
    "SingularMatrix",
    "SolverUnavailable",
    "factorise",
    "prepare_pack",
    "sample_pack",
    "solver_report",
    "synthetic_database",
    "write_synthetic",
]
