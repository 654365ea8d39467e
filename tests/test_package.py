"""The package as a user installs it. Under `make test` the suite runs in a fresh venv outside
the checkout with hftpy installed from the built wheel (`HFTPY_TEST_INSTALLED=1`): these
tests prove it is that wheel being tested, that it carries its typing files and the
manylinux2014 tag, and that the sdist builds the same package. Elsewhere (the editable
build of `make py-test`) they are skipped."""

from __future__ import annotations

import os
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

import hftpy
import hftpy._core

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTALLED = os.environ.get("HFTPY_TEST_INSTALLED") == "1"

pytestmark = pytest.mark.skipif(not INSTALLED, reason="runs against the installed wheel only")


def wheel_files(path: Path) -> set[str]:
    """A wheel's files, without the parts that differ between builds of the same source."""
    with zipfile.ZipFile(path) as wheel:
        names = set(wheel.namelist())
    return {
        "hftpy/_core.so" if name.startswith("hftpy/_core.") and name.endswith(".so") else name
        for name in names
        if ".dist-info/" not in name
    }


TAG = f"cp{sys.version_info.major}{sys.version_info.minor}"


def built_wheel() -> Path:
    """The wheel of `make wheel` for this interpreter (dist/ holds one per CPython version)."""
    (wheel,) = (REPO_ROOT / "dist").glob(f"hftpy-*-{TAG}-{TAG}-*.whl")
    return wheel


def test_hftpy_is_the_installed_wheel_not_the_source_tree() -> None:
    package = Path(hftpy.__file__).resolve()
    extension = Path(hftpy._core.__file__).resolve()
    assert REPO_ROOT not in package.parents, package
    assert REPO_ROOT not in extension.parents, extension
    assert "site-packages" in package.parts
    assert Path(sys.prefix).resolve() in package.parents
    # pip recorded it as a wheel install (an editable install would carry direct_url's
    # "editable": true and a .pth to the checkout instead).
    dist = metadata.distribution("hftpy")
    direct_url = dist.read_text("direct_url.json") or ""
    assert '"editable"' not in direct_url


def test_every_wheel_is_manylinux2014_and_carries_the_typing_files() -> None:
    wheels = sorted((REPO_ROOT / "dist").glob("hftpy-*.whl"))
    tags = {w.name.split("-")[2] for w in wheels}
    assert {"cp311", "cp312", "cp313", "cp314"} <= tags, tags
    for wheel in wheels:
        assert wheel.name.endswith("manylinux2014_x86_64.manylinux_2_17_x86_64.whl"), wheel
        assert {"hftpy/_core.pyi", "hftpy/py.typed", "hftpy/_core.so"} <= wheel_files(wheel)
    wheel = built_wheel()
    assert wheel.name.endswith("manylinux2014_x86_64.manylinux_2_17_x86_64.whl"), wheel.name
    files = wheel_files(wheel)
    assert {"hftpy/_core.pyi", "hftpy/py.typed", "hftpy/_core.so"} <= files
    installed = {str(f) for f in metadata.files("hftpy") or ()}
    assert {"hftpy/_core.pyi", "hftpy/py.typed"} <= installed


def test_the_sdist_builds_the_same_package() -> None:
    sdist_dir = Path(os.environ.get("HFTPY_SDIST_WHEEL_DIR", REPO_ROOT / ".make" / "sdist-build"))
    if not sdist_dir.is_absolute():
        sdist_dir = REPO_ROOT / sdist_dir
    (from_sdist,) = sdist_dir.glob(f"hftpy-*-{TAG}-{TAG}-*.whl")
    assert wheel_files(from_sdist) == wheel_files(built_wheel())
