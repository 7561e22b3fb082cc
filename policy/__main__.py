"""Entry point the Pulumi CLI runs for `--policy-pack policy`; the policies live in
``eks_access_policy`` so tests can import them without starting the analyzer server."""

from eks_access_policy import PACK_NAME, POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name=PACK_NAME, policies=POLICIES, enforcement_level=EnforcementLevel.MANDATORY)
