"""The wheel ships every module and the assets, and works from a fresh virtualenv."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
    )
    (built,) = out.glob("kiosk-*.whl")
    return built


@pytest.mark.wheel
@pytest.mark.timeout(900)
def test_the_wheel_holds_every_module_of_the_package_and_the_assets(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "kiosk").rglob("*.py")}
    assert modules - names == set()
    assets = {
        "kiosk/assets/" + p.relative_to(ROOT / "assets").as_posix()
        for p in (ROOT / "assets").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert "kiosk/assets/catalog/sample.csv" in assets
    assert assets - names == set()


@pytest.mark.wheel
@pytest.mark.timeout(900)
def test_the_wheel_holds_the_systemd_files_with_the_hardware_udev_rules_as_copies(
    wheel: Path,
) -> None:
    shipped = zipfile.ZipFile(wheel)
    names = set(shipped.namelist())
    expected = {
        "kiosk/systemd/" + p.name
        for p in (ROOT / "systemd").iterdir()
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert "kiosk/systemd/kiosk.service" in expected
    assert expected - names == set()
    for rules in ("99-kiosk-scanner.rules", "99-kiosk-printer.rules"):
        copied = shipped.read(f"kiosk/systemd/{rules}")
        assert copied == (ROOT / "hardware" / rules).read_bytes()


@pytest.mark.wheel
@pytest.mark.timeout(900)
def test_the_installed_wheel_runs_the_kiosk_command_and_reads_its_assets(
    wheel: Path, tmp_path: Path
) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True)

    # Run from an unrelated folder so the checkout cannot stand in for the installed package.
    helped = subprocess.run(
        [str(env_dir / "bin" / "kiosk"), "--help"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )
    assert "catalog" in helped.stdout and "demo" in helped.stdout

    probe = (
        "import kiosk, kiosk.resources as r;"
        "print(kiosk.__file__);"
        "print(r.asset_text('catalog/sample.csv').splitlines()[0])"
    )
    shown = subprocess.run(
        [str(python), "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    module_file, header = shown.stdout.splitlines()
    assert str(env_dir) in module_file
    assert header.startswith("barcode,")

    imported = subprocess.run(
        [str(env_dir / "bin" / "kiosk"), "demo", "--data-dir", str(tmp_path / "demo"),
         "--prepare-only"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert imported.returncode == 0, imported.stderr
    assert "products" in imported.stdout

    # The installer reads the units from the installed package, not from a checkout.
    units = subprocess.run(
        [str(python), "-c", "from kiosk.install.layout import UNITS; "
         "print(UNITS[0].content().decode().count('[Service]'))"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )
    assert units.stdout.strip() == "1"
