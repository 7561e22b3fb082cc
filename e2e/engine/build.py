"""The real Pulumi CLI and Kubernetes provider, built from the Go module proxy into the e2e cache
(``~/.cache/eks-access-e2e``; ``EKS_ACCESS_E2E_CACHE`` moves it), never into the repository.

- The CLI: module ``github.com/pulumi/pulumi/pkg/v3``, package ``cmd/pulumi``, from the scratch
  module ``e2e/engine/cli`` (``go install pkg@version`` refuses the CLI's replace directives, so
  the module copies the one it needs). About 13 minutes and 2.3 GB cold on 2 cores.
- The Kubernetes provider: ``github.com/pulumi/pulumi-kubernetes/provider/v4`` at the one version
  the proxy serves, main ``cmd/pulumi-resource-kubernetes``. Its embedded schema is produced by
  the module's own ``generate.go``, so the module is copied out of the read-only module cache,
  its sibling-folder replace dropped, and built there. About 14 minutes and 5 GB cold.

Each is rebuilt only when its pins change (a stamp of them sits beside the binary).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
CACHE = Path(os.environ.get("EKS_ACCESS_E2E_CACHE", Path.home() / ".cache" / "eks-access-e2e"))
BIN = CACHE / "bin"
CLI_MODULE = ROOT / "e2e" / "engine" / "cli"
CLI_VERSION = "v3.274.1"  # e2e/engine/cli/go.mod pins the same
PROVIDER_MODULE = "github.com/pulumi/pulumi-kubernetes/provider/v4"
PROVIDER_VERSION = "v4.0.0-20260115033456-f47bc2d6f199"  # the only one the proxy serves
PROVIDER_SDK = "github.com/pulumi/pulumi-kubernetes/sdk/v4@v4.24.0"  # its go.mod's own pin
PLUGIN_VERSION = "4.34.2"
"""Installed under the Python SDK's version (pulumi-kubernetes 4.34), or the engine would try to
download that one."""


def log(message: str) -> None:
    print(message, flush=True)


def _fresh(name: str, digest: str) -> bool:
    stamp = CACHE / "stamps" / name
    return (BIN / name).exists() and stamp.exists() and stamp.read_text() == digest


def _stamp(name: str, digest: str) -> None:
    (CACHE / "stamps").mkdir(parents=True, exist_ok=True)
    (CACHE / "stamps" / name).write_text(digest)


def _go(*argv: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["go", *argv], cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"go {' '.join(argv)} in {cwd}:\n{proc.stderr[-4000:]}")
    return proc.stdout


def cli() -> Path:
    digest = hashlib.sha256(
        b"".join((CLI_MODULE / f).read_bytes() for f in ("go.mod", "go.sum", "tools.go"))
    ).hexdigest()
    if not _fresh("pulumi", digest):
        log(f"building the Pulumi CLI {CLI_VERSION} (first run: about 13 minutes)")
        start = time.time()
        flags = f"-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version={CLI_VERSION}"
        _go("build", "-trimpath", "-ldflags", flags, "-o", str(BIN / "pulumi"),
            "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi", cwd=CLI_MODULE)  # fmt: skip
        _stamp("pulumi", digest)
        log(f"  built the Pulumi CLI in {time.time() - start:.0f} s")
    return BIN / "pulumi"


def provider() -> Path:
    name = "pulumi-resource-kubernetes"
    digest = hashlib.sha256(
        f"{PROVIDER_VERSION} {PROVIDER_SDK} {PLUGIN_VERSION}".encode()
    ).hexdigest()
    if _fresh(name, digest):
        return BIN / name
    log(f"building the Kubernetes provider {PROVIDER_VERSION} (first run: about 14 minutes)")
    start = time.time()
    scratch = CACHE / "src"
    scratch.mkdir(parents=True, exist_ok=True)
    found = json.loads(
        _go("mod", "download", "-json", f"{PROVIDER_MODULE}@{PROVIDER_VERSION}", cwd=scratch)
    )
    src = scratch / "k8s-provider"
    shutil.rmtree(src, ignore_errors=True)
    shutil.copytree(found["Dir"], src)
    for path in src.rglob("*"):  # the module cache is read-only
        path.chmod(path.stat().st_mode | 0o200)
    go_mod = src / "go.mod"
    go_mod.write_text(
        "\n".join(
            line
            for line in go_mod.read_text().splitlines()
            if not line.startswith("replace github.com/pulumi/pulumi-kubernetes/sdk/v4")
        )
        + "\n"
    )
    mod = {"GOFLAGS": "-mod=mod"}
    _go("get", PROVIDER_SDK, cwd=src, env=mod)
    _go("run", "generate.go", cwd=src / "cmd" / name, env={**mod, "VERSION": PLUGIN_VERSION})
    flags = f"-X {PROVIDER_MODULE}/pkg/version.Version={PLUGIN_VERSION}"
    _go("build", "-trimpath", "-ldflags", flags, "-o", str(BIN / name), f"./cmd/{name}",
        cwd=src, env=mod)  # fmt: skip
    _stamp(name, digest)
    log(f"  built the Kubernetes provider in {time.time() - start:.0f} s")
    return BIN / name


def install_provider(cli_path: Path, home: Path) -> None:
    """Install the provider binary as plugin ``kubernetes`` in ``home`` (PULUMI_HOME)."""
    if (home / "plugins" / f"resource-kubernetes-v{PLUGIN_VERSION}").exists():
        return
    proc = subprocess.run(
        [str(cli_path), "plugin", "install", "resource", "kubernetes", PLUGIN_VERSION,
         "--file", str(BIN / "pulumi-resource-kubernetes")],
        env={**os.environ, "PULUMI_HOME": str(home), "PULUMI_SKIP_UPDATE_CHECK": "true"},
        capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"pulumi plugin install: {proc.stderr.strip()}")
