"""The sparse solver of the engine, chosen explicitly (`LCASettings.solver`), never by what happens to be installed.

bw2calc picks pypardiso by itself when it is importable (`bw2calc.PYPARDISO`, `bw2calc.factorized`): installing it
beside the service would silently change the factorisation, its speed and the last digits of every result. The
engine factorises with this module instead and reports which solver it uses (`solver_report`).

Orientation: technosphere matrices fill in far less when A^T is factorised than A (bw2calc's `lu_solver` docstring:
ecoinvent 3.9 cut-off, SuperLU, 52 s for A against 1.7 s for A^T). Measured on the full-size synthetic database
(23,500 activities, 738,306 nonzeros, this 2-core machine under load; docs/backgrounds-engine.md): splu(A^T) with
COLAMD 9.3 s, 7.0 M nonzeros in L+U, 44 ms per solve; with MMD_AT_PLUS_A 92 s, 2.0 M, 7.6 ms; with MMD_ATA 90 s,
1.8 M, 14 ms; splu(A) with COLAMD did not finish in 300 s. A version is prepared with 15 solves, so COLAMD's
factorisation time wins (the minimum-degree orderings would pay off only beyond ~2,000 solves per factorisation). One
factorisation of A^T with COLAMD, then: the unit scores (A^T x = B^T c) are plain solves on it, a supply (A x = d) is a
solve with trans="T" on the same factors.
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

SOLVERS = ("superlu", "pardiso")
PERMC_SPEC = "COLAMD"


class SolverUnavailable(ValueError):
    """The configured solver (setting PCF_SOLVER) is unknown or not installed."""


class SingularMatrix(ArithmeticError):
    """The matrix could not be factorised (exactly singular or not finite)."""


def _pypardiso_installed() -> bool:
    try:
        import pypardiso  # noqa: F401
    except ImportError:
        return False
    return True


def check_solver(solver: str) -> str:
    if solver not in SOLVERS:
        raise SolverUnavailable(f"PCF_SOLVER: unknown solver {solver!r}; choose one of {', '.join(SOLVERS)}")
    if solver == "pardiso" and not _pypardiso_installed():
        raise SolverUnavailable("PCF_SOLVER=pardiso, but pypardiso is not installed; install it or use superlu")
    return solver


def _version(name: str) -> str | None:
    try:
        return package_version(name)
    except PackageNotFoundError:
        return None


def solver_report(solver: str = "superlu") -> dict:
    """What the engine factorises with; the service logs it at start and results carry it in `engine_info`."""
    check_solver(solver)
    pardiso = _pypardiso_installed()
    report = {
        "name": solver,
        "solver": f"scipy SuperLU ({PERMC_SPEC})" if solver == "superlu" else "Intel MKL PARDISO (pypardiso)",
        "orientation": "A^T factorised once; unit scores solve A^T x = B^T c, supplies solve A x = d (trans)",
        "scipy": _version("scipy"),
        "pypardiso_installed": pardiso,
        "bw2calc_default": "pypardiso" if pardiso else "scipy",
    }
    if solver == "pardiso":
        report["pypardiso"] = _version("pypardiso")
    return report


class Factorisation:
    """One factorisation of A^T. `solve_transposed(r)` solves A^T x = r (r: (n,) or (n, k)); `solve(d)` solves
    A x = d. Solves on one object are not thread-safe for PARDISO (callers hold the engine's lock, as for every
    solve)."""

    def __init__(self, matrix: sp.spmatrix, solver: str = "superlu"):
        self.solver = check_solver(solver)
        self.shape = matrix.shape
        # CSC of A^T shares the arrays of the CSR of A (no copy for bw2calc's CSR matrices)
        transposed = sp.csr_matrix(matrix).T.tocsc().astype(np.float64)
        if not np.isfinite(transposed.data).all():
            raise SingularMatrix("the matrix has values that are not finite")
        if self.solver == "superlu":
            try:
                self._lu = splu(transposed, permc_spec=PERMC_SPEC)
            except RuntimeError as error:  # "Factor is exactly singular"
                raise SingularMatrix(str(error)) from error
        else:
            from pypardiso.pardiso_wrapper import PyPardisoSolver

            self._transposed = transposed.tocsr()
            self._matrix = sp.csr_matrix(matrix, dtype=np.float64)
            self._pardiso_t = PyPardisoSolver()
            self._pardiso_t.factorize(self._transposed)
            self._pardiso = None

    @property
    def nonzeros(self) -> int | None:
        if self.solver == "superlu":
            return int(self._lu.L.nnz + self._lu.U.nnz)
        return None

    def solve_transposed(self, rhs: np.ndarray) -> np.ndarray:
        rhs = np.asarray(rhs, dtype=np.float64)
        if self.solver == "superlu":
            return self._lu.solve(np.ascontiguousarray(rhs))
        return self._pardiso_t.solve(self._transposed, rhs)

    def solve(self, demand: np.ndarray) -> np.ndarray:
        demand = np.asarray(demand, dtype=np.float64)
        if self.solver == "superlu":
            return self._lu.solve(np.ascontiguousarray(demand), trans="T")
        if self._pardiso is None:
            from pypardiso.pardiso_wrapper import PyPardisoSolver

            self._pardiso = PyPardisoSolver()
            self._pardiso.factorize(self._matrix)
        return self._pardiso.solve(self._matrix, demand)

    def __call__(self, demand: np.ndarray) -> np.ndarray:
        """bw2calc's `lca.solver` protocol: x = A^-1 d."""
        return self.solve(demand)


def factorise(matrix: sp.spmatrix, solver: str = "superlu") -> Factorisation:
    return Factorisation(matrix, solver)
