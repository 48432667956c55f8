"""How a footprint is computed: the factor set, the Brightway background, the foreground of one inventory,
the calculation (factorised once, solved per footprint), Monte Carlo and the result.

Pure Python on Brightway, numpy and pydantic; no web or database-server imports.
"""

from lca_models.engine import FootprintEngine, get_engine
from lca_models.factor_set import FactorSet, load_factor_set
from lca_models.results import FootprintResult
from lca_models.supply import SupplierValue

__all__ = ["FactorSet", "FootprintEngine", "FootprintResult", "SupplierValue", "get_engine", "load_factor_set"]
