"""`make bench`: what the program costs as organisations grow, and how small its diffs are.

Prints a Markdown table and writes bench/results/latest.{md,json}. Benchmarks are not
tests: nothing here asserts a time. `python -m bench.run --quick` runs tiny sizes only
(tests/program/test_bench.py uses it to keep this script working).
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bench.org import ACCOUNT, org, role, user

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10, 100, 500, 1000, 5000)
QUICK_SIZES = (10, 30)
INTERRUPT = (3000, (0.5, 3.0), 5)
"""Ctrl-C: principals, seconds after the start, runs."""
MODES = ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API")
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"


# --- 1. program cost -------------------------------------------------------------------------


def _measure(*argv: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.measure", *argv],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def program_cost(sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        dump = Path(tempfile.mkstemp(suffix=".json")[1])
        ours = _measure("ours", str(n), "CONFIG_MAP", str(dump))
        base = _measure("baseline", str(dump))
        shaped = _measure("structured", str(dump))
        dump.unlink()
        rows.append(
            {
                "principals": n,
                "resources": ours["resources"],
                "baseline_resources": base["resources"],
                "components": ours["components"],
                "ours_s": ours["seconds"],
                "baseline_s": base["seconds"],
                "ratio": ours["seconds"] / base["seconds"],
                "structured_s": shaped["seconds"],
                "structured_components": shaped["components"],
                "ours_peak_mib": ours["peak_rss_mib"],
                "baseline_peak_mib": base["peak_rss_mib"],
            }
        )
        print(f"  {n:5d} principals: ours {ours['seconds']:.2f} s, baseline "
              f"{base['seconds']:.2f} s, structured {shaped['seconds']:.2f} s",
              file=sys.stderr)  # fmt: skip
    return rows


# --- Ctrl-C -----------------------------------------------------------------------------------


def interrupt_latency(principals: int, moments: tuple[float, ...], runs: int) -> dict[str, Any]:
    """Seconds from SIGINT to the end of `eks-access plan` on a big stack, interrupted early
    (imports, config) and late (the SDK waiting for registrations); docs/cli.md's promise."""
    import shutil
    import signal
    import time

    folder = Path(tempfile.mkdtemp(prefix="eks-access-bench-interrupt-"))
    shutil.copy(ROOT / "Pulumi.yaml", folder / "Pulumi.yaml")
    stack = folder / "Pulumi.big.yaml"
    stack.write_text(yaml.safe_dump({"config": org(principals)}))
    took: list[float] = []
    codes: set[int] = set()
    for _ in range(runs):
        for after in moments:
            proc = subprocess.Popen(
                [sys.executable, "-m", "eks_access", "plan", "--config-file", str(stack),
                 "--out", str(folder / "out")], cwd=ROOT, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(after)
            sent = time.monotonic()
            proc.send_signal(signal.SIGINT)
            codes.add(proc.wait(timeout=60))
            took.append(time.monotonic() - sent)
    shutil.rmtree(folder, ignore_errors=True)
    return {"principals": principals, "moments": list(moments), "runs": runs,
            "max_s": max(took), "median_s": sorted(took)[len(took) // 2],
            "exit_codes": sorted(codes)}  # fmt: skip


# --- in-process plans for counts and diffs ------------------------------------------------


def plan(raw: dict[str, Any]) -> Any:
    from eks_access import stackfile
    from offline.run import run

    folder = Path(tempfile.mkdtemp(prefix="eks-access-bench-"))
    for name in ("Pulumi.yaml", "__main__.py"):
        (folder / name).write_text((ROOT / name).read_text())
    path = folder / "Pulumi.bench.yaml"
    path.write_text(yaml.safe_dump({"config": raw}))
    return run(stackfile.read(path))


def _cloud(type_: str) -> str:
    return (
        "aws"
        if type_.startswith("aws:")
        else "kubernetes"
        if type_.startswith("kubernetes:")
        else "other"
    )


def diff(before: Any, after: Any) -> dict[str, Any]:
    """Registered custom resources compared by URN: added, removed, changed inputs."""
    b = {r.urn: r for r in before.resources if r.custom}
    a = {r.urn: r for r in after.resources if r.custom}
    changed = sorted(u for u in b.keys() & a.keys() if b[u].inputs != a[u].inputs)
    return {
        "added": sorted(a.keys() - b.keys()),
        "removed": sorted(b.keys() - a.keys()),
        "changed": changed,
        "before": b,
        "after": a,
    }


def _short(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


# --- 2. resources per principal ------------------------------------------------------------


def per_principal(base_size: int = 20) -> list[dict[str, Any]]:
    rows = []
    for mode in MODES:
        base_raw = org(base_size, mode)
        base = plan(base_raw)
        for kind, add in (("IAM user", _add_user), ("IAM role", _add_role)):
            raw = copy.deepcopy(base_raw)
            add(raw)
            d = diff(base, plan(raw))
            added = [d["after"][u].type for u in d["added"]]
            rows.append(
                {
                    "mode": mode,
                    "principal": kind,
                    "aws_added": sum(_cloud(t) == "aws" for t in added),
                    "iam_added": sum(t.startswith("aws:iam/") for t in added),
                    "access_entries_added": sum(t == ACCESS_ENTRY for t in added),
                    "kubernetes_added": sum(_cloud(t) == "kubernetes" for t in added),
                    "changed": sorted(_short(u) for u in d["changed"]),
                    "added_types": sorted(t.rsplit(":", 1)[-1] for t in added),
                }
            )  # fmt: skip
    return rows


def _add_user(raw: dict[str, Any]) -> None:
    raw["eks-access:teams"][0]["users"].append(user(99_999))


def _add_role(raw: dict[str, Any]) -> None:
    raw["eks-access:teams"][0]["roles"].append(role(99_998))


# --- 2b. a team as one mapping (access: role) -----------------------------------------------


def role_team(n: int) -> list[dict[str, Any]]:
    """One team of ``n`` IAM users, ``access: user`` against ``access: role``: what the plan
    registers and maps, the plan's time (in this process, one run each: a comparison, not a
    figure of its own), and what one more member changes outside IAM."""
    from eks_access import rules

    plan(org(2))  # the imports and the first run's warm-up, outside the timings
    rows = []
    for mode in ("CONFIG_MAP", "API"):
        for access in ("user", "role"):
            raw = org(0, mode)
            raw["eks-access:teams"] = [{
                "name": "big", "namespaces": ["big-app"], "createNamespaces": True,
                "namespaceAccess": "edit", "access": access,
                "users": [user(i) for i in range(n)],
            }]  # fmt: skip
            start = time.perf_counter()
            base = plan(raw)
            seconds = time.perf_counter() - start
            more = copy.deepcopy(raw)
            more["eks-access:teams"][0]["users"].append(user(99_999))
            d = diff(base, plan(more))
            outside = [
                _short(u)
                for u in [*d["added"], *d["changed"]]
                if not (d["after"].get(u) or d["before"][u]).type.startswith("aws:iam/")
            ]
            patch = next(
                (r for r in base.resources if r.type == "kubernetes:core/v1:ConfigMapPatch"), None
            )
            data = patch.inputs.get("data", {}) if patch is not None else {}
            rows.append({
                "mode": mode, "access": access, "users": n, "seconds": seconds,
                "resources": sum(r.custom for r in base.resources),
                "aws_auth_bytes": sum(len(v) for v in data.values()),
                "aws_auth_lines": sum(
                    len(rules.load_yaml11(v) or []) for k, v in data.items() if k != "mapAccounts"
                ),
                "access_entries": sum(r.type == ACCESS_ENTRY for r in base.resources),
                "one_more_outside_iam": sorted(outside),
            })  # fmt: skip
            print(f"  {mode} access: {access}, {n} users: {seconds:.2f} s", file=sys.stderr)
    return rows


# --- 3. aws-auth size -------------------------------------------------------------------------


def aws_auth_size() -> dict[str, Any]:
    from eks_access import awsauth
    from eks_access import config as core
    from eks_access.principals import principals

    def size(n: int) -> int:
        return awsauth.data_size(awsauth.render(principals(core.load(org(n)), ACCOUNT)))

    small, large = 1000, 2000
    per = (size(large) - size(small)) / (large - small)
    fixed = size(small) - per * small
    limit = int((awsauth.MAX_BYTES - fixed) / per)
    warn = int((awsauth.WARN_FRACTION * awsauth.MAX_BYTES - fixed) / per)
    # Check the extrapolation against the renderer itself, around the predicted counts.
    fits = _refused(limit - 50) is False and _refused(limit + 50) is True
    warns = _warning(warn + 50) and not _warning(warn - 50)
    return {
        "bytes_per_principal": per,
        "limit_principals": limit,
        "warn_principals": warn,
        "checked_against_renderer": bool(fits and warns),
    }


def _render_for(n: int) -> dict[str, str]:
    from eks_access import awsauth
    from eks_access import config as core
    from eks_access.principals import principals

    return awsauth.render(principals(core.load(org(n)), ACCOUNT))


def _refused(n: int) -> bool:
    from eks_access import awsauth

    try:
        _render_for(n)
    except awsauth.AwsAuthError:
        return True
    return False


def _warning(n: int) -> bool:
    from eks_access import awsauth

    return awsauth.size_warning(_render_for(n)) is not None


# --- 4. diff locality --------------------------------------------------------------------------


def _edit_add_user(raw: dict[str, Any]) -> None:
    _add_user(raw)


def _edit_remove_middle_user(raw: dict[str, Any]) -> None:
    teams = raw["eks-access:teams"]
    users = teams[len(teams) // 2]["users"]
    users.pop(len(users) // 2)


def _edit_add_namespace(raw: dict[str, Any]) -> None:
    raw["eks-access:teams"][0]["namespaces"].append("team0000-new")


def _edit_reorder(raw: dict[str, Any]) -> None:
    raw["eks-access:teams"].reverse()
    for t in raw["eks-access:teams"]:
        t["users"].reverse()


def _edit_nothing(raw: dict[str, Any]) -> None:
    pass


EDITS: dict[str, Callable[[dict[str, Any]], None]] = {
    "add one user": _edit_add_user,
    "remove one user in the middle": _edit_remove_middle_user,
    "add one namespace": _edit_add_namespace,
    "reorder teams and users (rename nothing)": _edit_reorder,
    "no edit": _edit_nothing,
}
SHARED = ("kubernetes:core/v1:ConfigMapPatch", "pulumi:providers:kubernetes")


def diff_locality(size: int = 100) -> list[dict[str, Any]]:
    import difflib

    rows = []
    for mode in ("CONFIG_MAP", "API"):
        base_raw = org(size, mode)
        base = plan(base_raw)
        for name, edit in EDITS.items():
            raw = copy.deepcopy(base_raw)
            edit(raw)
            d = diff(base, plan(raw))
            aws_auth_lines = 0
            for urn in d["changed"]:
                if d["after"][urn].type == SHARED[0]:
                    for key in ("mapRoles", "mapUsers"):
                        old = d["before"][urn].inputs["data"][key].splitlines()
                        new = d["after"][urn].inputs["data"][key].splitlines()
                        aws_auth_lines += sum(
                            1 for line in difflib.ndiff(old, new) if line[:1] in "+-"
                        )
            shared_changed = [u for u in d["changed"] if d["after"][u].type in SHARED]
            rows.append(
                {
                    "mode": mode,
                    "edit": name,
                    "added": [_short(u) for u in d["added"]],
                    "removed": [_short(u) for u in d["removed"]],
                    "changed": [_short(u) for u in d["changed"]],
                    "aws_auth_lines_changed": aws_auth_lines,
                    "shared_replaced": [
                        _short(u) for u in d["removed"] if d["before"][u].type in SHARED
                    ],
                    "other_changed": [_short(u) for u in d["changed"] if u not in shared_changed],
                }
            )
    return rows


# --- report -----------------------------------------------------------------------------------


def machine() -> str:
    cpus = os.cpu_count()
    model = ""
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = platform.processor()
    return f"{cpus} CPU ({model}), Python {platform.python_version()}, {platform.system()}"


def _table(header: list[str], rows: list[list[str]], numeric: set[int]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append(
        "|" + "|".join("---:" if i in numeric else "---" for i in range(len(header))) + "|"
    )
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _names(values: list[str]) -> str:
    return ", ".join(values) or "-"


def markdown(results: dict[str, Any]) -> str:
    out = [f"Run {results['date']} on {results['machine']}.", ""]
    out += _table(
        ["principals", "resources (+components)", "ours s", "baseline s", "ours/baseline",
         "structured s", "ours/structured", "ours peak MiB", "baseline peak MiB"],
        [[str(r["principals"]), f"{r['resources']} (+{r['components']})", f"{r['ours_s']:.2f}",
          f"{r['baseline_s']:.2f}", f"{r['ratio']:.2f}", f"{r['structured_s']:.2f}",
          f"{r['ours_s'] / r['structured_s']:.2f}", f"{r['ours_peak_mib']:.0f}",
          f"{r['baseline_peak_mib']:.0f}"] for r in results["program_cost"]],
        set(range(9)),
    )  # fmt: skip
    if growth := results.get("growth"):
        out += [
            "",
            f"Growth: time at {growth['large']} / time at {growth['small']} principals = "
            f"{growth['ratio']:.1f} (x{growth['large'] // growth['small']} principals).",
        ]
    if stop := results.get("interrupt"):
        out += [
            "",
            f"Ctrl-C: `plan` of {stop['principals']} principals interrupted at "
            f"{', '.join(f'{m:g}' for m in stop['moments'])} s, {stop['runs']} runs each: ended "
            f"in {stop['median_s']:.2f} s (median), {stop['max_s']:.2f} s at most; exit "
            f"{', '.join(map(str, stop['exit_codes']))}.",
        ]
    out.append("")
    out += _table(
        ["mode", "added principal", "AWS resources", "of them IAM", "access entries",
         "Kubernetes resources", "changed"],
        [[r["mode"], r["principal"], f"{r['aws_added']} ({_names(r['added_types'])})",
          str(r["iam_added"]), str(r["access_entries_added"]), str(r["kubernetes_added"]),
          _names(r["changed"])] for r in results["per_principal"]],
        {2, 3, 4, 5},
    )  # fmt: skip
    out.append("")
    out += _table(
        ["mode", "team", "users", "plan s", "resources", "aws-auth lines", "aws-auth bytes",
         "access entries", "one more member changes (outside IAM)"],
        [[r["mode"], f"access: {r['access']}", str(r["users"]), f"{r['seconds']:.2f}",
          str(r["resources"]), str(r["aws_auth_lines"]), str(r["aws_auth_bytes"]),
          str(r["access_entries"]), _names(r["one_more_outside_iam"]) or "nothing"]
         for r in results.get("role_team", [])],
        {2, 3, 4, 5, 6, 7},
    )  # fmt: skip
    size = results["aws_auth_size"]
    out += [
        "",
        f"aws-auth: {size['bytes_per_principal']:.0f} bytes per principal; warning from "
        f"{size['warn_principals']} principals (80%), refusal past {size['limit_principals']} "
        f"(1 MiB); extrapolation checked against the renderer: "
        f"{size['checked_against_renderer']}.",
        "",
    ]
    out += _table(
        ["mode", "edit", "added", "removed", "changed", "aws-auth lines",
         "other resources changed", "shared resources replaced"],
        [[r["mode"], r["edit"], _names(r["added"]), _names(r["removed"]), _names(r["changed"]),
          str(r["aws_auth_lines_changed"]), _names(r["other_changed"]),
          _names(r["shared_replaced"])] for r in results["diff_locality"]],
        {5},
    )  # fmt: skip
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the script")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else SIZES
    print("program cost (each size in a fresh process):", file=sys.stderr)
    cost = program_cost(sizes)
    results: dict[str, Any] = {
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "program_cost": cost,
        "per_principal": per_principal(),
        "role_team": role_team(10 if args.quick else 1000),
        "aws_auth_size": aws_auth_size(),
        "diff_locality": diff_locality(30 if args.quick else 100),
        "interrupt": interrupt_latency(*((300, (0.5,), 1) if args.quick else INTERRUPT)),
    }
    by_n = {r["principals"]: r["ours_s"] for r in cost}
    if 500 in by_n and 5000 in by_n:
        results["growth"] = {"small": 500, "large": 5000, "ratio": by_n[5000] / by_n[500]}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(results)
    (out / "latest.md").write_text(text)
    (out / "latest.json").write_text(json.dumps(results, indent=2))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
