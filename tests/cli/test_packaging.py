"""What `pip install .` (a wheel, not the editable install `make install` makes) ships: every
package the program and the command line import, found by their folders, is listed in
pyproject.toml (an unlisted one installs a command that fails on every invocation)."""

from __future__ import annotations

import tomllib

from tests.conftest import ROOT

ROOTS = ("eks_access", "components", "offline", "cli")


def test_every_package_folder_is_listed_for_the_wheel() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ROOTS
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found - listed == set(), "add them to [tool.setuptools] packages in pyproject.toml"
    assert "cli.commands" in found  # the check sees sub-packages
