"""One measurement in a fresh process (so peak RSS is this run's): the offline plan of a
synthetic org with our program, or the baseline program that registers the same resources.

    python -m bench.measure ours N MODE DUMP.json     -> JSON line, and DUMP.json written
    python -m bench.measure baseline DUMP.json        -> JSON line
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _warm_imports() -> None:
    """Import the SDK modules the program uses before the clock starts: module import time is
    paid once per process and is not what a bigger org costs (the baseline needs none)."""
    import pulumi_aws
    import pulumi_eks
    import pulumi_kubernetes

    import components  # noqa: F401

    # The SDKs load these modules lazily, on the first attribute other than introspection ones
    # such as __name__ (pulumi/_utils.py _LazyModule): ask for a class each, to load them now.
    loaded = (
        (pulumi_aws.iam, "User"),
        (pulumi_aws.eks, "AccessEntry"),
        (pulumi_kubernetes.core.v1, "Namespace"),
        (pulumi_kubernetes.rbac.v1, "RoleBinding"),
        (pulumi_kubernetes.meta.v1, "ObjectMetaArgs"),
        (pulumi_eks, "Cluster"),
    )
    for module, attr in loaded:
        getattr(module, attr)


def ours(principals: int, mode: str, dump: Path) -> dict[str, Any]:
    from bench.org import org
    from eks_access import stackfile
    from offline.run import run

    folder = Path(tempfile.mkdtemp(prefix="eks-access-bench-"))
    for name in ("Pulumi.yaml", "__main__.py"):
        (folder / name).write_text((ROOT / name).read_text())
    path = folder / "Pulumi.bench.yaml"
    path.write_text(yaml.safe_dump({"config": org(principals, mode)}))
    stack = stackfile.read(path)
    _warm_imports()
    rss_before = _peak_mib()
    start = time.perf_counter()
    result = run(stack)
    seconds = time.perf_counter() - start
    custom = [r for r in result.resources if r.custom]
    dump.write_text(json.dumps([r.to_json() for r in result.resources]))
    return {
        "seconds": seconds,
        "peak_rss_mib": _peak_mib(),
        "rss_before_mib": rss_before,
        "resources": len(custom),
        "components": len(result.resources) - len(custom),
    }


def baseline(dump: Path) -> dict[str, Any]:
    """The same custom resources, registered flat from a list: no config, no components, no
    logic of ours. The difference to `ours` is what our program costs on top of the SDK."""
    import pulumi

    from offline.mocks import PlaceholderCloud
    from offline.run import run_program

    resources = [r for r in json.loads(dump.read_text()) if r["custom"]]

    class Declared(pulumi.CustomResource):
        """Shaped like every generated SDK class (its own ``__init__`` over CustomResource's),
        so the SDK records its source position exactly as it does for ``aws.iam.User``."""

        def __init__(self, type_: str, name: str, props: dict[str, Any]) -> None:
            super().__init__(type_, name, props)

    def program() -> None:
        for r in resources:
            Declared(r["type"], r["name"], dict(r["inputs"]))

    rss_before = _peak_mib()
    start = time.perf_counter()
    result = run_program(program, PlaceholderCloud("111122223333", "us-east-1"), stack="bench")
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "peak_rss_mib": _peak_mib(),
        "rss_before_mib": rss_before,
        "resources": len(result.resources),
        "components": 0,
    }


def _alias(spec: dict[str, Any]) -> Any:
    """An alias as plan.json records it (the engine's spec form), as the program gave it."""
    import pulumi

    return pulumi.Alias(
        type_=spec.get("type") or ..., parent=spec.get("parentUrn") or ...
    )  # ``...``: the SDK's "inherit this part" marker


def structured(dump: Path) -> dict[str, Any]:
    """The same registrations as ours, components included, each under its parent, with the
    options that shape a registration (retainOnDelete, additionalSecretOutputs, ignoreChanges,
    dependsOn, and aliases by type and parent; not provider, deleteBeforeReplace,
    replaceOnChanges or replacementTrigger) and inputs as plain values: our program's shape
    without its logic. Between the flat baseline and ours, it tells what the shape costs
    (components, parents, options) from what our code costs."""
    import pulumi

    from offline.mocks import PlaceholderCloud
    from offline.run import run_program

    registered = [r for r in json.loads(dump.read_text()) if not r["options"].get("read")]

    class Declared(pulumi.CustomResource):
        def __init__(self, type_: str, name: str, props: dict[str, Any], opts: Any) -> None:
            super().__init__(type_, name, props, opts)

    class Component(pulumi.ComponentResource):
        def __init__(self, type_: str, name: str, opts: Any) -> None:
            super().__init__(type_, name, None, opts)

    def program() -> None:
        made: dict[str, pulumi.Resource] = {}
        components = []
        for r in registered:
            options = r["options"]
            opts = pulumi.ResourceOptions(
                parent=made.get(r["parent"] or ""),
                retain_on_delete=options.get("retainOnDelete") or None,
                additional_secret_outputs=options.get("additionalSecretOutputs") or None,
                ignore_changes=options.get("ignoreChanges") or None,
                aliases=[_alias(a["spec"]) for a in options.get("aliases") or []] or None,
                depends_on=[made[u] for u in options.get("dependsOn") or [] if u in made] or None,
            )  # fmt: skip
            if r["custom"]:
                made[r["urn"]] = Declared(r["type"], r["name"], dict(r["inputs"]), opts)
            else:
                made[r["urn"]] = c = Component(r["type"], r["name"], opts)
                components.append(c)
        for c in components:
            c.register_outputs({})

    rss_before = _peak_mib()
    start = time.perf_counter()
    result = run_program(program, PlaceholderCloud("111122223333", "us-east-1"), stack="bench")
    seconds = time.perf_counter() - start
    custom = sum(1 for r in result.resources if r.custom)
    return {
        "seconds": seconds,
        "peak_rss_mib": _peak_mib(),
        "rss_before_mib": rss_before,
        "resources": custom,
        "components": len(result.resources) - custom,
    }


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "ours":
        out = ours(int(sys.argv[2]), sys.argv[3], Path(sys.argv[4]))
    elif kind == "structured":
        out = structured(Path(sys.argv[2]))
    else:
        out = baseline(Path(sys.argv[2]))
    print(json.dumps(out))
