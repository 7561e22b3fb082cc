"""The review of every everyday-change row in its three formats (JSON, the pull-request
comment, the HTML page), as ``eks-access review`` renders them, from the real program's plans.

``tests/program/test_golden.py`` compares them with the copies in ``tests/fixtures/golden-review``,
taken before the review's documents became typed (issue 27): a refactor that changes a byte of
a JSON shape or a rendering fails there. A deliberate change rewrites the copies in the same
commit (``python -m tests.golden_review --write``), with the reason in the commit message.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import tempfile
from pathlib import Path

from tests import everyday

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "golden-review"


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def rendered(title: str) -> dict[str, str]:
    """One row's review: ``{"json": ..., "md": ..., "html": ...}``."""
    from eks_access import changes, clock, comment, expiring, guards, operations, report, stackfile
    from eks_access import config as core
    from offline.plan import mapped_principals
    from tests.conftest import write_stack

    row = next(r for r in everyday.ROWS if r.title == title)
    before, after = everyday.planned(title)
    configs, written = [], []
    for raw, at in zip(row.configs(), row.at, strict=True):
        folder = Path(tempfile.mkdtemp(prefix="eks-access-golden-review-"))
        for name, other in (row.stacks(raw) if row.stacks else {}).items():
            write_stack(folder, other, name)
        with clock.fixed(at):
            written.append(stackfile.read(write_stack(folder, raw, "dev")).load_as_written())
            configs.append(core.in_effect(written[-1], clock.now()))
    base, head = configs
    # the ends as `review` says them, at the head's time (rows without a time write no expires)
    with clock.fixed(row.at[1]):
        ends = expiring.end_changes(written[0], written[1], clock.now())
    ops = operations.compute(before.resources, after.resources)
    stops = guards.plan_stops(  # as `review` gets them (cli.common.lockout_stops)
        guards.PlanFacts(before.resources, mapped_principals(before)),
        guards.PlanFacts(after.resources, mapped_principals(after)),
        ops,
        head.acknowledge_lockout,
        head.acknowledge_cluster_change,
    )
    doc = changes.review_document(base, head, ops=ops, stops=stops, ends=ends)
    name = f"{head.cluster.name} (stack dev)"
    return {
        "json": json.dumps(doc.to_json(), indent=2, sort_keys=False) + "\n",
        "md": comment.markdown([(name, doc)]),
        "html": report.page(f"Access review: {name}", report.review_sections(base, head, doc)),
    }


def path(title: str, ext: str) -> Path:
    """Compressed (the matrices repeat: 16 MB of text, 0.6 MB stored)."""
    return GOLDEN / f"{slug(title)}.{ext}.gz"


def stored(title: str, ext: str) -> str:
    return gzip.decompress(path(title, ext).read_bytes()).decode()


def write() -> None:
    for old in GOLDEN.glob("*"):
        old.unlink()
    for row in everyday.ROWS:
        for ext, text in rendered(row.title).items():
            path(row.title, ext).write_bytes(gzip.compress(text.encode(), 9, mtime=0))


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.golden_review --write")
    write()
