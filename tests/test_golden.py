"""The restructuring changed no byte of the dev stack's plan: the files match a copy taken before
the first move (tests/fixtures/golden-dev). A deliberate change to the plan updates the copy in
the same commit, with the reason in the commit message."""

from __future__ import annotations

from pathlib import Path

from cli.main import main
from tests.conftest import DEV, ROOT

GOLDEN = ROOT / "tests" / "fixtures" / "golden-dev"


def test_the_dev_plan_is_byte_identical_to_the_golden_copy(tmp_path: Path, capsys) -> None:
    assert main(["plan", "--config-file", str(DEV), "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    names = sorted(p.name for p in GOLDEN.iterdir())
    assert names == sorted(p.name for p in tmp_path.iterdir())
    for name in names:
        assert (tmp_path / name).read_bytes() == (GOLDEN / name).read_bytes(), name
