"""The CI workflows parse, run what the README promises, and use no long-lived AWS keys."""

from pathlib import Path

import yaml

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"


def load(name):
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def steps(doc):
    return [s for job in doc["jobs"].values() for s in job["steps"]]


def test_pull_request_workflow_tests_reviews_and_previews():
    doc = load("pull-request.yml")
    assert "pull_request" in doc["on"]
    runs = " ".join(s.get("run", "") for s in steps(doc))
    assert "make lint" in runs and "make test" in runs and "eks_access review --base" in runs
    preview = next(s for s in steps(doc) if s.get("uses", "").startswith("pulumi/actions@"))
    assert preview["with"]["command"] == "preview" and preview["with"]["comment-on-pr"] is True
    assert preview["with"]["diff"] is True
    assert preview["with"]["policyPacks"] == "policy"  # the guardrails run in every preview


def test_deploy_on_main_runs_pulumi_up():
    doc = load("main.yml")
    assert doc["on"]["push"]["branches"] == ["main"]
    up = next(s for s in steps(doc) if s.get("uses", "").startswith("pulumi/actions@"))
    assert up["with"]["command"] == "up"
    assert up["with"]["policyPacks"] == "policy"


def test_aws_credentials_come_from_oidc_only():
    for name in ("pull-request.yml", "main.yml"):
        doc = load(name)
        text = (WORKFLOWS / name).read_text()
        assert doc["permissions"]["id-token"] == "write"
        assert "AWS_ACCESS_KEY_ID" not in text and "aws-secret-access-key" not in text
        creds = [
            s
            for s in steps(doc)
            if s.get("uses", "").startswith("aws-actions/configure-aws-credentials")
        ]
        assert creds and all("role-to-assume" in s["with"] for s in creds)
