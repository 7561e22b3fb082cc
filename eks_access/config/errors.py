"""Config problems, and pydantic's errors rewritten into them: the config path, what was given,
what is expected, and an example."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from eks_access.config.models import StackConfig
from eks_access.fields import MAX_ACCESS_KEYS, NAMESPACE, show
from eks_access.problems import Problem

# Where each StackConfig field lives in the stack file.
CONFIG_KEYS = {
    "aws:region": "region",
    f"{NAMESPACE}:cluster": "cluster",
    f"{NAMESPACE}:teams": "teams",
    f"{NAMESPACE}:pgpKey": "pgpKey",
    f"{NAMESPACE}:identity": "identity",
    f"{NAMESPACE}:acknowledgeLockout": "acknowledgeLockout",
    f"{NAMESPACE}:removeLiveMappings": "removeLiveMappings",
    f"{NAMESPACE}:acknowledgeClusterChange": "acknowledgeClusterChange",
}
_FIELD_PATHS = {
    "region": "aws:region",
    "pgpKey": f"{NAMESPACE}:pgpKey",
    "identity": f"{NAMESPACE}:identity",
    "acknowledgeLockout": f"{NAMESPACE}:acknowledgeLockout",
    "removeLiveMappings": f"{NAMESPACE}:removeLiveMappings",
    "acknowledgeClusterChange": f"{NAMESPACE}:acknowledgeClusterChange",
}


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    head = str(loc[0]) if loc else ""
    if head in _FIELD_PATHS:
        out = _FIELD_PATHS[head] + out[len(head) :]
    return out or "config"


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class that the value at ``loc`` is validated as, for listing allowed keys."""
    model: type[BaseModel] = StackConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = next(
            (f for n, f in model.model_fields.items() if (f.alias or to_camel(n)) == part),
            None,
        )
        if field is None:
            return None
        inner = _inner_model(field.annotation)
        if inner is None:
            return None
        model = inner
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    # A model defined before the ones it refers to may keep no alias: the generator's spelling.
    return [f.alias or to_camel(n) for n, f in model.model_fields.items()]


# What a key looks like when written right, for messages about a value of the wrong type.
_EXAMPLES = {
    "teams": "teams: [{name: payments, users: [alice]}]",
    "cluster": "cluster: {name: dev, nodeRoleArns: [arn:aws:iam::111122223333:role/nodes]}",
    "identity": 'identity: {mode: reference, account: "111122223333", stack: org/project/stack}',
    "users": "users: [alice, {name: bob, keys: [2026-11]}]",
    "existingUsers": "existingUsers: [arn:aws:iam::111122223333:user/carol]",
    "roles": "roles: [{arn: arn:aws:iam::111122223333:role/NAME, username: NAME}]",
    "permissionSets": 'permissionSets: [{name: PaymentsDev, username: "payments:{{SessionName}}"}]',
    "keys": "keys: [2026-11]",
    "namespaces": "namespaces: [payments, payments-jobs]",
    "rules": 'rules: [{apiGroups: [""], resources: [pods], verbs: [get, list]}]',
    "clusterRules": 'clusterRules: [{apiGroups: [""], resources: [nodes], verbs: [get]}]',
    "accessPolicies": "accessPolicies: [{policy: view, scope: namespace}]",
    "apiGroups": 'apiGroups: ["", apps]',
    "resources": "resources: [pods, pods/log]",
    "verbs": "verbs: [get, list, watch]",
    "resourceNames": "resourceNames: [app-config]",
    "nonResourceURLs": 'nonResourceURLs: ["/healthz"]',
    "nodeRoleArns": "nodeRoleArns: [arn:aws:iam::111122223333:role/nodes]",
    "windowsNodeRoleArns": "windowsNodeRoleArns: [arn:aws:iam::111122223333:role/win-nodes]",
    "fargateRoleArns": "fargateRoleArns: [arn:aws:iam::111122223333:role/fargate]",
    "eksManagedNodeRoles": "eksManagedNodeRoles: [arn:aws:iam::111122223333:role/eks-node-group]",
    "autoNodeRoleArns": "autoNodeRoleArns: [arn:aws:iam::111122223333:role/AmazonEKSAutoNodeRole]",
    "hybridNodeRoleArns": "hybridNodeRoleArns: [arn:aws:iam::111122223333:role/hybrid-nodes]",
    "hyperpodNodeRoleArns": "hyperpodNodeRoleArns: [arn:aws:iam::111122223333:role/hyperpod]",
    "mapAccounts": 'mapAccounts: ["111122223333"]',
    "renamedFrom": "renamedFrom: payments-old",
    "create": 'create: {nodeCount: 2, instanceType: t3.medium, version: "1.34"}',
    "nodeCount": "nodeCount: 2",
}
_EXPECTED = {
    "list_type": "a list",
    "tuple_type": "a list",
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "model_type": "a mapping of keys",
    "dict_type": "a mapping of keys",
    "model_attributes_type": "a mapping of keys",
}


def _given(value: Any) -> str:
    """What the config holds, in the config's words."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {show(value)}"
    if isinstance(value, str):
        return f"the text {show(value)}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _example(loc: tuple[int | str, ...]) -> str:
    key = next((str(part) for part in reversed(loc) if isinstance(part, str)), "")
    return f"; for example `{_EXAMPLES[key]}`" if key in _EXAMPLES else ""


def _is_secret(value: Any) -> bool:
    """An encrypted stack value (``{secure: ...}``) or an ESC secret (``{fn::secret: ...}``)."""
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _SECRET_KEYS


_SECRET_KEYS = ("secure", "fn::secret")
NOT_SECRET = (
    "this setting is not secret, and a plan made without the stack's key cannot read it: "
    "write the value in plain text"
)


def describe(error: Any) -> Problem:
    loc: tuple[int | str, ...] = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        parent = _model_at(loc[:-1])
        allowed = _allowed_keys(parent) if parent else []
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        msg = f"unknown key {show(key)}; {hint}allowed keys: {', '.join(allowed)}"
    elif kind == "missing":
        msg = "required; add this key" + _example(loc)
    elif kind == "too_long" and loc and loc[-1] == "keys":
        msg = (
            f"an IAM user can hold at most {MAX_ACCESS_KEYS} access keys; remove the oldest "
            "generation once its replacement is in use"
        )
    elif kind in {"value_error", "assertion_error"}:
        msg = str(error["msg"]).removeprefix("Value error, ")
    elif kind in _EXPECTED and _is_secret(error.get("input")):
        msg = f"a secret value (secure: or fn::secret); {NOT_SECRET}"
    elif kind in _EXPECTED:
        msg = f"expected {_EXPECTED[kind]}, got {_given(error.get('input'))}" + _example(loc)
    elif kind == "literal_error":
        expected = str(error.get("ctx", {}).get("expected", "")).replace("'", "")
        msg = f"expected one of {expected}, got {_given(error.get('input'))}"
    elif kind in {"too_short", "string_too_short"}:
        msg = f"must not be empty, got {_given(error.get('input'))}" + _example(loc)
    else:
        msg = f"{error['msg']}, got {_given(error.get('input'))}" + _example(loc)
    return Problem(_path(loc), msg)
