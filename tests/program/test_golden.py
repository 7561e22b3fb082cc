"""The restructuring changed no byte of the dev stack's plan: the files match a copy taken before
the first move (tests/fixtures/golden-dev). A deliberate change to the plan updates the copy in
the same commit, with the reason in the commit message."""

from __future__ import annotations

import difflib
import itertools
from pathlib import Path

import pytest

from cli.main import main
from tests import everyday, golden_review
from tests.conftest import DEV, ROOT

GOLDEN = ROOT / "tests" / "fixtures" / "golden-dev"


def test_the_dev_plan_is_byte_identical_to_the_golden_copy(tmp_path: Path, capsys) -> None:
    assert main(["plan", "--config-file", str(DEV), "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    names = sorted(p.name for p in GOLDEN.iterdir())
    assert names == sorted(p.name for p in tmp_path.iterdir())
    for name in names:
        assert (tmp_path / name).read_bytes() == (GOLDEN / name).read_bytes(), name


@pytest.mark.xdist_group(name="everyday")  # shares the rows' plans with the lifecycle tests
@pytest.mark.parametrize("row", everyday.ROWS, ids=[r.title for r in everyday.ROWS])
def test_each_everyday_review_renders_as_the_golden_copy(row: everyday.Row) -> None:
    """The review of every everyday row, in JSON, the comment and the HTML page, byte for byte
    as before the review's documents were typed (tests/golden_review.py)."""
    for ext, text in golden_review.rendered(row.title).items():
        want = golden_review.stored(row.title, ext)
        if text != want:
            diff = difflib.unified_diff(want.splitlines(), text.splitlines(), lineterm="", n=1)
            pytest.fail(f"{ext} differs:\n" + "\n".join(itertools.islice(diff, 40)))
