"""Secrets: key material is a Pulumi secret everywhere it flows, only an encrypted copy
exists with a PGP key, nothing secret reaches the plan or the logs, and no credential is
committed to this repository (detect-secrets, the same detectors as the pre-commit hooks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

from detect_secrets import SecretsCollection
from detect_secrets.settings import transient_settings
from google.protobuf import json_format

from eks_access import stackfile
from offline.mocks import PLACEHOLDER_SECRET_PREFIX
from offline.run import SECRET_MASK, RecordingMonitor, run
from tests.conftest import DEV, ROOT, write_stack

SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # Pulumi's wire marker for a secret value


class RawOutputs(RecordingMonitor):
    """Also keeps every component's registered outputs as sent, secret markers included."""

    raw: ClassVar[dict[str, Any]] = {}

    def RegisterResourceOutputs(self, request: Any) -> Any:
        RawOutputs.raw[request.urn] = json_format.MessageToDict(request.outputs)
        return super().RegisterResourceOutputs(request)


def test_every_secret_access_key_is_a_pulumi_secret(monkeypatch):
    from offline import run as run_mod

    RawOutputs.raw = {}
    monkeypatch.setattr(run_mod, "RecordingMonitor", RawOutputs)
    result = run(stackfile.read(DEV))
    keys = result.of_type("aws:iam/accessKey:AccessKey")
    assert keys and all("secret" in k.options["additionalSecretOutputs"] for k in keys)
    assert result.outputs["accessKeySecrets"] == SECRET_MASK
    # Per-user outputs carry key IDs and (with PGP) encrypted copies, never the secret itself.
    fields = {"arn", "accessKeyIds", "encryptedSecrets", "kubeconfig"}
    assert all(set(u) == fields for u in result.outputs["users"].values())
    # Each user component hands its secrets on wrapped as secret, with the value inside.
    users = {u: o for u, o in RawOutputs.raw.items() if "ClusterUser::" in u}
    wrapped = [o["secrets"] for o in users.values()]
    assert len(wrapped) == 4 and all(w.get(
        "4dabf18193072939515e22adb298388d") == SECRET_SIG for w in wrapped)  # fmt: skip
    values = json.dumps([w.get("value") for w in wrapped])
    assert values.count(PLACEHOLDER_SECRET_PREFIX) == len(keys)  # the masked values exist


def test_with_a_pgp_key_only_the_encrypted_secret_exists(tmp_path, dev_raw):
    dev_raw["eks-access:pgpKey"] = "keybase:platform-team"
    out = tmp_path / "plan"
    stack = write_stack(tmp_path, dev_raw, "pgp")
    proc = subprocess.run(
        [sys.executable, "-m", "eks_access", "plan", "--config-file", str(stack), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    result = run(stackfile.read(stack))
    keys = result.of_type("aws:iam/accessKey:AccessKey")
    assert keys and all(k.inputs["pgpKey"] == "keybase:platform-team" for k in keys)
    outputs = json.loads((out / "outputs.json").read_text())
    encrypted = {u: o["encryptedSecrets"] for u, o in outputs["users"].items()}
    assert encrypted["eks_user"]["v1"].startswith("placeholder-pgp-encrypted-")
    everything = proc.stdout + proc.stderr + "".join(p.read_text() for p in out.iterdir())
    assert PLACEHOLDER_SECRET_PREFIX not in everything
    iam = json.loads((out / "iam.json").read_text())
    assert all(k["pgpEncrypted"] for u in iam["users"] for k in u["accessKeys"])
    policy = json.loads((out / "policy.json").read_text())
    assert not any(v["policy"] == "access-key-without-pgp" for v in policy)


def test_plan_stdout_stderr_and_files_hold_no_secret(tmp_path):
    out = tmp_path / "plan"
    proc = subprocess.run(
        [sys.executable, "-m", "eks_access", "plan", "--config-file", str(DEV), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, env={"PULUMI_DEBUG": "1", "PATH": ""},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    everything = proc.stdout + proc.stderr + "".join(p.read_text() for p in out.iterdir())
    assert "accessKeySecrets" in everything  # the output exists, as a mask
    assert PLACEHOLDER_SECRET_PREFIX not in everything


# --- no credential committed ----------------------------------------------------------------------

DETECTORS = {"plugins_used": [{"name": "AWSKeyDetector"}, {"name": "PrivateKeyDetector"}]}


def scan(files: list[Path]) -> list[tuple[str, str]]:
    with transient_settings(DETECTORS):
        found = SecretsCollection()
        found.scan_files(*(str(f) for f in files))
    return sorted((f, s.type) for f, secrets in found.data.items() for s in secrets)


def committed_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if listed.returncode == 0 and listed.stdout:
        names = [n for n in listed.stdout.split("\0") if n]
    else:  # not a git checkout (a source archive): every file outside generated folders
        skip = {".venv", "out", ".git", ".hypothesis", "__pycache__", "policy/venv"}
        names = [
            str(p.relative_to(ROOT))
            for p in ROOT.rglob("*")
            if p.is_file() and not any(part in skip for part in p.relative_to(ROOT).parts)
        ]
    return [ROOT / n for n in names if (ROOT / n).is_file()]


def test_no_credential_shaped_string_is_committed():
    files = committed_files()
    assert len(files) > 30
    assert scan(files) == []


def test_the_scan_finds_a_planted_credential(tmp_path):
    # Built from parts so that this file itself holds no credential-shaped string.
    key_id = "AKIA" + "Q3EGRI7SJXCXGVNA"
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEYZ"
    planted = tmp_path / "Pulumi.leak.yaml"
    planted.write_text(f"config:\n  aws:accessKey: {key_id}\n  aws:secretKey: {secret}\n")
    pem = tmp_path / "id_rsa"
    pem.write_text("-----BEGIN RSA " + "PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n")
    kinds = {t for _, t in scan([planted, pem])}
    assert kinds == {"AWS Access Key", "Private Key"}
