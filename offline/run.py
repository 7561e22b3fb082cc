"""Run `__main__.py` under the mock runtime and record every registration.

The program runs exactly as the Pulumi language host runs it (``run_in_stack``), on the
real SDKs; only the engine's resource monitor is replaced by a recording mock. Secret values
are masked while recording, so nothing downstream can write them out.
"""

from __future__ import annotations

import asyncio
import contextlib
import runpy
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks

from components import preflight, sdk_internals
from eks_access import arns, stackfile
from eks_access import config as core
from eks_access.kinds import NODE_KINDS
from eks_access.kinds.base import NodeKind
from eks_access.live import LiveAwsAuth, as_eks_creates_it
from eks_access.operations import Registration, make_urn
from eks_access.stackfile import StackFile, StackFileError
from eks_access.stackfile import read as read_stack
from offline.mocks import PlaceholderCloud

SECRET_MASK = "[secret]"
UNKNOWN_MASK = "[unknown]"


def mask(value: Any) -> Any:
    """A wire value with secrets replaced by ``[secret]`` and unknowns by ``[unknown]``."""
    if isinstance(value, dict):
        sig = value.get(sdk_internals.SIG_KEY)
        if sig == sdk_internals.SECRET_SIG:
            return SECRET_MASK
        if sig == sdk_internals.RESOURCE_SIG:
            return {"resource": value.get("urn")}
        return {k: mask(v) for k, v in value.items() if k != sdk_internals.SIG_KEY}
    if isinstance(value, list):
        return [mask(v) for v in value]
    if value == sdk_internals.UNKNOWN:
        return UNKNOWN_MASK
    return value


@dataclass
class RunResult:
    resources: list[Registration] = field(default_factory=list)
    """In registration order (parents before children), as the program ran."""
    outputs: dict[str, Any] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)
    """URNs registered twice: the engine refuses such a program ("Duplicate resource URN")."""

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]


_THREAD_LOOPS: set[asyncio.AbstractEventLoop] = set()
"""Event loops the SDK's mock monitor opened on its worker threads (one each, to deserialize
resource references), which nothing else closes: ``close_runtime`` does."""
_LOOPS_LOCK = threading.Lock()


def _note_thread_loop() -> None:
    if threading.current_thread() is threading.main_thread():
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return
    with _LOOPS_LOCK:
        _THREAD_LOOPS.add(loop)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping each registration's parent, options and outputs."""

    def __init__(self, mocks: pulumi_mocks.Mocks, on_register: Callable[[], None] | None = None):
        super().__init__(mocks)
        self.result = RunResult()
        self._urns: set[str] = set()
        self._on_register = on_register or (lambda: None)

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The URN the engine would give (the SDK mock keeps only the parent's last type)."""
        from pulumi import get_project, get_stack

        return make_urn(get_stack(), get_project(), parent or None, type_, name)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        _note_thread_loop()
        if request.type != "pulumi:pulumi:Stack":
            options = {
                "protect": request.protect,
                "retainOnDelete": request.retainOnDelete,
                "deleteBeforeReplace": request.deleteBeforeReplace,
                "replaceOnChanges": list(request.replaceOnChanges),
                "ignoreChanges": list(request.ignoreChanges),
                "additionalSecretOutputs": list(request.additionalSecretOutputs),
                "dependsOn": sorted(request.dependencies),
                "provider": request.provider or None,
                "aliases": [json_format.MessageToDict(a) for a in request.aliases],
                "propertyDependencies": {
                    k: sorted(v.urns) for k, v in sorted(request.propertyDependencies.items())
                },
                "replacementTrigger": mask(
                    json_format.MessageToDict(request.replacement_trigger)
                    if request.HasField("replacement_trigger")
                    else None
                ),
            }
            self._on_register()
            if response.urn in self._urns:
                self.result.duplicates.append(response.urn)
            self._urns.add(response.urn)
            self.result.resources.append(
                Registration(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    custom=request.custom,
                    inputs=mask(json_format.MessageToDict(request.object)),
                    options=options,
                )
            )
        return response

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        """Reads of existing resources: a StackReference is one."""
        response = super().ReadResource(request)  # type: ignore[no-untyped-call]
        _note_thread_loop()
        self.result.resources.append(
            Registration(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                custom=True,
                inputs=mask(json_format.MessageToDict(request.properties)),
                options={"read": True, "provider": request.provider or None},
            )
        )
        return response

    def Invoke(self, request: Any) -> Any:  # noqa: N802
        try:
            return super().Invoke(request)  # type: ignore[no-untyped-call]
        finally:
            _note_thread_loop()

    def Call(self, request: Any) -> Any:  # noqa: N802
        """Method calls on components (``Cluster.get_kubeconfig``), which the SDK mock lacks."""
        from pulumi.runtime.proto import provider_pb2

        # Plain data, not deserialized: turning the `__self__` reference back into a Resource
        # would start SDK tasks on this worker thread's own event loop.
        args = mask(json_format.MessageToDict(request.args))
        answer = self.mocks.call(pulumi_mocks.MockCallArgs(request.tok, args, request.provider))
        result = answer[0] if isinstance(answer, tuple) else answer  # the SDK allows both
        response = provider_pb2.CallResponse()
        getattr(response, "return").CopyFrom(sdk_internals.serialize(result))
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802
        if "::pulumi:pulumi:Stack::" in request.urn:
            self.result.outputs = mask(json_format.MessageToDict(request.outputs))
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]


def placeholder_cloud(stack: StackFile) -> PlaceholderCloud:
    """Mocks in the account the config's users live in (``StackConfig.users_account``), so the
    plan's ARNs agree with the config's."""
    # Read defensively: the program, not this helper, reports a malformed config.
    try:
        config = stack.load_any()
    except (core.ConfigError, StackFileError):
        config = None
    account = config.users_account if config is not None else arns.PLACEHOLDER_ACCOUNT
    cluster = getattr(config, "cluster", None)
    mode = cluster.authentication_mode if cluster is not None else "CONFIG_MAP"
    identity = getattr(config, "identity", None)
    outputs = {}
    if identity is not None and identity.stack:
        # Lenient here: `plan` checks the identity stack file first (identity_file), for a
        # clean error.
        with contextlib.suppress(StackFileError):
            outputs[identity.stack] = identity_outputs(stack, identity.stack)
    return PlaceholderCloud(
        account,
        str(stack.raw.get("aws:region", "us-east-1")),
        authentication_mode=str(mode),
        stack_outputs=outputs,
        # the program looks the permission sets' roles up where it runs: the cluster's account
        cluster_account=config.context().cluster_account
        if isinstance(config, core.StackConfig)
        else None,
        caller_account=config.context().cluster_account
        if isinstance(config, core.StackConfig)
        and config.identity is not None
        and config.identity.mode == "reference"
        else None,
    )


@contextlib.contextmanager
def answering_aws_auth(found: LiveAwsAuth | None) -> Iterator[None]:
    """The program's read of the live aws-auth (``components.preflight``) answers ``found``
    (None: the cluster has none), as the mocks answer its invokes: no cluster is called."""

    def read(kubeconfig: str) -> dict[str, Any] | None:
        if found is None:
            return None
        meta = {"name": "aws-auth", "namespace": "kube-system",
                "annotations": dict(found.annotations)}  # fmt: skip
        return {"kind": "ConfigMap", "metadata": meta, "data": dict(found.data)}

    real = preflight.READER
    preflight.READER = read
    try:
        yield
    finally:
        preflight.READER = real


def _node_roles(stack: StackFile) -> list[tuple[NodeKind, str]]:
    """The config's node roles by kind, for aws-auth as EKS creates it (lenient: a malformed
    config is the program's to report)."""
    cluster = stack.raw.get("eks-access:cluster")
    cluster = cluster if isinstance(cluster, dict) else {}
    out: list[tuple[NodeKind, str]] = []
    for kind in NODE_KINDS:
        listed = cluster.get(kind.config_key)
        for arn in listed if isinstance(listed, list) else []:
            with contextlib.suppress(arns.ArnError, TypeError):
                arns.parse_iam_arn(arn)
                out.append((kind, arn))
    return out


def identity_file(stack: StackFile, reference: str) -> Path:
    """The stack file of a referenced identity stack in the same project (``org/project/NAME``
    is ``Pulumi.NAME.yaml``), or StackFileError."""
    path = stack.project_dir / f"Pulumi.{reference.rsplit('/', 1)[-1]}.yaml"
    if not path.is_file():
        raise StackFileError(
            f"{stack.path}: eks-access:identity.stack {reference!r} is planned offline from "
            f"{path.name}, which is not in {stack.project_dir}"
        )
    return path


def identity_outputs(stack: StackFile, reference: str) -> dict[str, Any]:
    """A referenced identity stack's outputs, offline: the offline plan of its stack file;
    secrets stay masked."""
    return dict(run(read_stack(identity_file(stack, reference))).outputs)


def run_program(
    func: Callable[[], None],
    mocks: pulumi_mocks.Mocks,
    project: str = "eks-access",
    stack: str = "test",
    config: Mapping[str, Any] | None = None,
    on_register: Callable[[], None] | None = None,
    secret_keys: frozenset[str] = frozenset(),
) -> RunResult:
    """Run ``func`` as a Pulumi program under mocks and return what it registered
    (``on_register`` is called once per resource, for progress); ``config`` as the Pulumi CLI
    hands it over, ``secret_keys`` being its secrets."""
    sdk_internals.open_loop()
    monitor = RecordingMonitor(mocks, on_register)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(
        {k: stackfile.cli_text(v) for k, v in (config or {}).items()},
        sorted(secret_keys),
    )
    sdk_internals.run_in_a_stack(func)
    return monitor.result


PROGRAM = Path(__file__).resolve().parent.parent / "__main__.py"
"""The program this copy of eks-access belongs to."""


def program_of(stack: StackFile) -> Path:
    """The stack's project's `__main__.py`; this copy's own for a folder of stack files only."""
    own = stack.project_dir / "__main__.py"
    return own if own.is_file() else PROGRAM


def run(
    stack: StackFile,
    mocks: pulumi_mocks.Mocks | None = None,
    main: Path | None = None,
    on_register: Callable[[], None] | None = None,
    live_aws_auth: LiveAwsAuth | None = None,
) -> RunResult:
    """Run the stack's program (:func:`program_of`, or ``main``) once under mocks, the live
    aws-auth being ``live_aws_auth`` (default: as EKS creates it). Raises ``pulumi.RunError``
    on bad config, and on a preflight stop."""
    main_file = main or program_of(stack)
    project_dir = str(main_file.parent)
    if project_dir not in sys.path:
        sys.path.insert(0, project_dir)
    program_file = str(main_file)

    found = live_aws_auth or as_eks_creates_it(_node_roles(stack))

    def program() -> None:
        # The Pulumi CLI runs a program in its project folder; relative paths in config
        # (eks-access:teamsFile) must mean the same here.
        with contextlib.chdir(stack.project_dir), answering_aws_auth(found):
            runpy.run_path(program_file, run_name="__main__")

    return run_program(
        program,
        mocks or placeholder_cloud(stack),
        stack.project,
        stack.stack,
        stack.raw,
        on_register,
        stack.secret_keys,
    )


def close_runtime() -> None:
    """Close the event loops the Pulumi SDK ran programs on: its mock monitor's, one per worker
    thread, and the main one (what is still pending cancelled). A command does it before it
    returns, so no loop is collected at interpreter exit after its file descriptors are gone
    ("Exception ignored in BaseEventLoop.__del__ ... Invalid file descriptor: -1", about one
    run in 16 under load; ``make test-full`` runs each command many times to catch it)."""
    with _LOOPS_LOCK:
        for thread_loop in _THREAD_LOOPS:
            if not thread_loop.is_running():
                thread_loop.close()
        _THREAD_LOOPS.clear()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            loop = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:  # closed and unset already
        return
    if loop.is_closed() or loop.is_running():
        return
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    try:
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()
        asyncio.set_event_loop(None)
