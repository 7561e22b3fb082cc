"""Every use of the Pulumi SDKs' private parts, in one place.

The SDKs have no public call for these; each is pinned by ``tests/program/test_layers.py``, which
fails loudly when an SDK upgrade moves or changes one:

- the stack's whole config map (the public ``pulumi.Config`` reads one key at a time, and a
  misspelt key must not pass unnoticed);
- running a program in a stack as the language host does, and resetting the runtime after
  (the offline plan), a failed run's pending outputs included;
- the wire format's sentinels for secrets, resources and unknowns (to mask them in plans);
- serialising a value to the wire (answers to component method calls under mocks);
- waiting for a value before the program registers anything (an identity stack's outputs, read
  in the preflight), as the SDK's own synchronous invokes wait;
- the read-only proxies the policy analyzer hands to policies.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from pulumi.runtime import config as _config
from pulumi.runtime import rpc as _rpc
from pulumi.runtime import settings as _settings
from pulumi.runtime.settings import _get_rpc_manager, set_root_resource
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

T = TypeVar("T")

SIG_KEY: str = _rpc._special_sig_key
SECRET_SIG: str = _rpc._special_secret_sig
RESOURCE_SIG: str = _rpc._special_resource_sig
UNKNOWN: str = _rpc.UNKNOWN


def stack_config() -> dict[str, Any]:
    """Every config value of the running stack, by key, as the engine passed it (text)."""
    return dict(_config.CONFIG.get())


def run_in_a_stack(program: Callable[[], None]) -> None:
    """Run ``program`` inside a root Stack resource and wait for every RPC it started, as the
    Python language host runs ``__main__.py``."""
    open_loop()
    # The SDK types the root as non-optional, but None is how it marks "no stack yet".
    set_root_resource(None)  # type: ignore[arg-type]
    try:
        _sync_await(run_in_stack(program))
    except BaseException as e:
        _cancel_pending(e)
        raise
    finally:
        set_root_resource(None)  # type: ignore[arg-type]
        # A failed run can leave RPCs and their error behind; do not hand them to the next.
        # (Applies still scheduled on the loop can fail a later run in the same process:
        # tests run programs that must fail in a subprocess.)
        _get_rpc_manager().clear()


def open_loop() -> None:
    """An open event loop for the SDK: a command closes its loop when done (offline/run.py
    ``close_runtime``), and a process that runs programs again (the tests) gets a new one."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            loop = asyncio.get_event_loop()
    except RuntimeError:
        loop = None
    if loop is None or loop.is_closed():
        asyncio.set_event_loop(asyncio.new_event_loop())


def _cancel_pending(error: BaseException) -> None:
    """Cancel what a failed run left scheduled on the SDK's loop (applies and registrations
    waiting on the failed output), so the next program in this process starts clean (a fleet
    plan goes on to its next stack after one is stopped). The outputs that carried the error
    are not reported again when they are collected ("Future exception was never retrieved")."""
    loop = asyncio.get_event_loop()

    def quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("exception") is not error:
            loop.default_exception_handler(context)

    loop.set_exception_handler(quiet)
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    with _settings.SETTINGS.lock:  # the outputs the next run would await, failed ones included
        _settings.SETTINGS.outputs.clear()


def wait(awaitable: Awaitable[T]) -> T:
    """The value of ``awaitable``, the event loop run until it is ready (the SDK's synchronous
    invokes wait this way): for a lookup the program must finish before it registers anything."""
    return _sync_await(awaitable)


def serialize(value: Mapping[str, Any]) -> Any:
    """A value as the wire carries it (a protobuf Struct)."""
    return _sync_await(_rpc.serialize_properties(dict(value), {}))


def policy_view(inputs: Mapping[str, Any]) -> Mapping[str, Any]:
    """Inputs as the policy analyzer hands them to policies: read-only proxies (Mapping and
    Sequence, not dict and list) that raise on values unknown in a preview."""
    from pulumi_policy.proxy import unknown_checking_proxy

    view: Mapping[str, Any] = unknown_checking_proxy(dict(inputs))
    return view
