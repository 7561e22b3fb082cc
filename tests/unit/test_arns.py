"""ARN parsing and the forms EKS compares (aws-auth: path-less, case-insensitive)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eks_access import arns

SSO = (
    "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
    "AWSReservedSSO_Admin_0123456789abcdef"
)


def test_sso_role_is_mapped_without_its_path_but_kept_for_access_entries():
    arn = arns.parse_iam_arn(SSO, "role")
    assert (
        arn.aws_auth_arn == "arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123456789abcdef"
    )
    assert arn.arn == SSO


def test_user_arn_keeps_its_path_in_aws_auth():
    arn = arns.user_arn("aws", "111122223333", "alice", "/eng/")
    assert arn.aws_auth_arn == "arn:aws:iam::111122223333:user/eng/alice"


@pytest.mark.parametrize(
    "caller",
    [
        "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@example.com",
        "ARN:AWS:IAM::111122223333:ROLE/AWSRESERVEDSSO_ADMIN_0123456789ABCDEF".lower(),
        SSO,
    ],
)
def test_callers_of_the_same_role_share_one_match_key(caller):
    assert arns.caller_key(caller) == arns.parse_iam_arn(SSO).match_key


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("arn:aws:iam::11112222333:role/x", "role"),  # 11 digits
        ("arn:aws:iam::111122223333:group/devs", None),  # a group is not a principal
        ("arn:aws:iam::111122223333:user/alice", "role"),
        ("arn:aws:s3:::bucket", None),
        ("arn:aws:iam::111122223333:role/", None),
        ("arn:azure:iam::111122223333:role/x", None),
    ],
)
def test_rejects_what_is_not_a_principal_arn(value, kind):
    with pytest.raises(arns.ArnError):
        arns.parse_iam_arn(value, kind)


names = st.from_regex(r"[A-Za-z0-9+=,.@_-]{1,64}", fullmatch=True)
paths = st.lists(st.from_regex(r"[a-z0-9.-]{1,12}", fullmatch=True), max_size=4).map(
    lambda parts: "/" + "".join(p + "/" for p in parts)
)


@given(st.sampled_from(["user", "role"]), paths, names, st.from_regex(r"\d{12}", fullmatch=True))
def test_parse_round_trips(kind, path, name, account):
    text = f"arn:aws:iam::{account}:{kind}{path}{name}"
    parsed = arns.parse_iam_arn(text)
    assert (parsed.arn, parsed.kind, parsed.name, parsed.path) == (text, kind, name, path)
    if kind == "role":
        assert arns.caller_key(f"arn:aws:sts::{account}:assumed-role/{name}/s1") == parsed.match_key


@given(
    st.sampled_from(["user", "role"]),
    st.lists(st.from_regex(r"[A-Za-z0-9+=,.@_-]{1,12}", fullmatch=True), min_size=1, max_size=3),
)
def test_the_pack_matches_arns_as_the_core_does(kind, parts):
    """eks_access.rules.match_key (the policy pack's) and IamArn.match_key (the core's): one
    answer for every user and role ARN, paths included."""
    from eks_access import rules

    arn = f"arn:aws:iam::111122223333:{kind}/{'/'.join(parts)}"
    assert rules.match_key(arn) == arns.parse_iam_arn(arn).match_key
