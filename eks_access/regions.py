"""AWS partitions and their regions, from the endpoint data botocore ships.

botocore's ``endpoints.json`` is the table every AWS SDK for Python resolves regions with; a
region it does not know is a typo (``us-east-9``) or newer than the installed botocore (upgrade
it). Read once per process.
"""

from __future__ import annotations

import difflib
import functools


@functools.cache
def partitions() -> dict[str, frozenset[str]]:
    """Partition name (``aws``, ``aws-cn``, ...) to the regions it holds."""
    from botocore.loaders import create_loader

    data = create_loader().load_data("endpoints")
    return {p["partition"]: frozenset(p.get("regions", {})) for p in data["partitions"]}


def partition_of(region: str) -> str | None:
    """The partition a region belongs to, or None for a region AWS does not have."""
    return next((name for name, regions in partitions().items() if region in regions), None)


def closest(region: str) -> str | None:
    """The known region nearest in spelling, for a "did you mean" hint."""
    every = sorted(r for regions in partitions().values() for r in regions)
    found = difflib.get_close_matches(region, every, n=1, cutoff=0.7)
    return found[0] if found else None
