"""The package as installed: one top-level import name, every module in it, imports that point
down only (import-linter's contracts in pyproject.toml, checked on the built wheel)."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {  # repository folder: where the wheel puts it
    "humpback": "humpback",
    "schemas": "humpback/schemas",
    "beam_pipelines": "humpback/beam_pipelines",
    "training": "humpback/training",
}
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the sources (an in-tree build/ would keep deleted modules)."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("dist")
    for name in ["pyproject.toml", "README.md"]:
        shutil.copy(ROOT / name, source)
    for folder in FOLDERS:
        shutil.copytree(
            ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    return next(out.glob("humpback-*.whl"))


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The wheel unpacked, as pip lays it out in site-packages."""
    site = tmp_path_factory.mktemp("site")
    zipfile.ZipFile(wheel).extractall(site)
    return site


def lint_imports(site: Path) -> subprocess.CompletedProcess:
    """import-linter over the unpacked wheel (grimp reads the package where it is installed)."""
    return subprocess.run(
        [LINT_IMPORTS, "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=site, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, capture_output=True,
        text=True,
    )  # fmt: skip


def test_a_wheel_adds_one_top_level_import_name_holding_every_module(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if ".dist-info/" not in n} == {"humpback"}
    for folder, installed_as in FOLDERS.items():
        sources = {p.relative_to(ROOT / folder) for p in (ROOT / folder).rglob("*.py")}
        packed = {n.removeprefix(installed_as + "/") for n in names if n.startswith(installed_as)}
        missing = {str(s) for s in sources if "__pycache__" not in s.parts} - packed
        assert not missing, f"{folder}/: not in the wheel (list its package in pyproject.toml)"


def test_the_layer_contracts_hold(installed):
    result = lint_imports(installed)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_an_upward_import_breaks_the_layer_contract(installed, tmp_path):
    site = tmp_path / "site"
    subprocess.run(["cp", "-r", str(installed), str(site)], check=True)
    (site / "humpback/storage/upward.py").write_text("from humpback.run import graph\n")
    result = lint_imports(site)
    assert result.returncode == 1
    assert "humpback.storage.upward -> humpback.run.graph" in result.stdout
    assert "Contracts: 1 kept, 1 broken." in result.stdout
