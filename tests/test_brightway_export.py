"""The exported Brightway package opens in another project and gives the same footprint."""

import warnings

import pytest

from tests.conftest import inventory, load_example


def test_the_package_imports_elsewhere_and_reproduces_the_total(engine, tmp_path):
    """Cement example: a fresh project with biosphere3 and IPCC 2021 (from bw2io), the package imported, one
    bw2calc.LCA of the product-system activity = the engine's total (float32 storage: 1e-6)."""
    import bw2calc
    import bw2data as bd
    from bw2io.package import BW2Package

    from lca_models.background import write_biosphere_and_methods
    from lca_models.export import PRODUCT_SYSTEM, export_product_system

    cement = inventory(load_example("cement-guizhou-2023.json"))
    path = export_product_system(engine, cement, tmp_path)
    assert path.exists() and path.suffix == ".bw2package"
    home = bd.projects.current
    try:
        bd.projects.set_current("pcf-test-import")
        write_biosphere_and_methods(bd, engine.factor_set)
        BW2Package.import_file(str(path))
        assert {PRODUCT_SYSTEM, engine.background.database} <= set(bd.databases)
        product = next(iter(bd.Database(PRODUCT_SYSTEM)))
        lca = bw2calc.LCA({product: 1}, method=engine.factor_set.methods["total"])
        lca.lci()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lca.lcia()
    finally:
        bd.projects.set_current(home)
        bd.projects.delete_project("pcf-test-import", delete_dir=True)
    assert lca.score == pytest.approx(engine.calculate(cement).total_kg_co2e, rel=1e-6)
    assert not [p.name for p in bd.projects if p.name.startswith("pcf-export")]  # the scratch project is gone
    assert bd.projects.current == home
