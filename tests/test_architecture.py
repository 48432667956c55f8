"""The layers are checked by the machine: `lint-imports` keeps the contracts of pyproject.toml ([tool.importlinter]),
and fails on a new import that breaks one. Shown on a copy of the source with one forbidden import added."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("footprint_api", "label_service", "lca_models", "pcr_rules")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def source_copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("layers")
    shutil.copy(ROOT / "pyproject.toml", root)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("*.pyc", "static", "templates"))
    return root


def _with_import(root: Path, module: str, line: str) -> None:
    path = root.joinpath(*module.split(".")).with_suffix(".py")
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_source_keeps_every_contract():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("footprint_api.services.catalogue", "from footprint_api.web import i18n  # noqa", "Service layers"),
        ("footprint_api.api.catalogue", "from footprint_api.web.routes import inventory  # noqa", "Service layers"),
        ("footprint_api.persistence.models", "from footprint_api.services import audit  # noqa", "Service layers"),
        ("lca_models.engine", "import footprint_api.persistence.db  # noqa", "Domain packages below the service"),
        ("pcr_rules.models", "import sqlmodel  # noqa", "no web framework, database"),
        ("footprint_api.services.catalogue", "import fastapi  # noqa", "speak no HTTP"),
    ],
)
def test_an_import_against_a_contract_fails_the_check(source_copy, tmp_path, module, line, broken):
    """An edge importing another edge, a service importing the web edge, persistence importing a service, a domain
    package importing the service or a database library: each is named as a broken contract."""
    root = tmp_path / "tree"
    shutil.copytree(source_copy, root)
    _with_import(root, module, line)
    result = _lint_imports(root)
    assert result.returncode != 0
    assert "0 broken" not in result.stdout and broken in result.stdout.replace("\n", " ")
