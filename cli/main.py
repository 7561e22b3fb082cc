"""The command line: `eks-access COMMAND` (or `python -m eks_access COMMAND`); see `--help`.

It reaches the Pulumi SDK (through ``offline``) only for the commands that plan; the others are
plain Python over the config. Every user error is one line on stderr and exit 2; a closed pipe
(``| head``) ends quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from cli.commands import (
    access,
    audit,
    can_i,
    expiring,
    export,
    grant,
    import_,
    migrate,
    plan,
    review,
    stacks,
    who_can,
)
from cli.common import (
    EXIT_CODES,
    EXIT_CONFIG,
    EXIT_OK,
    UserError,
    version,
)
from eks_access import clock, stackfile
from eks_access import config as core


def _files(args: argparse.Namespace) -> str:
    files = next(
        (v for k in ("config_file", "aws_auth", "out") if (v := getattr(args, k, None))), ""
    )
    return " ".join(files) if isinstance(files, list) else str(files)


INTERRUPTED_LINE = "interrupted: stopped (no plan is left half written)\n"
"""``offline.interrupt.LINE``, for an interrupt that comes while that module loads (a test
keeps the two equal; so does ``eks_access/__main__.py``'s)."""


def entry() -> None:
    """The process entry point (`eks-access`, `python -m eks_access`): ``main`` and the exit,
    with an interrupt that slips past ``main``'s own handling (during start-up, or while the
    process ends) ending in the same one line and exit 130."""
    try:
        from offline import interrupt
    except KeyboardInterrupt:  # before the handler exists: said the same way
        sys.stderr.write(INTERRUPTED_LINE)
        _exit_interrupted()
    try:
        code = main()
    except KeyboardInterrupt:
        interrupt.report()
        code = interrupt.EXIT_INTERRUPTED
    if code == 130:
        _exit_interrupted()
    sys.stdout.flush()
    sys.exit(code)


def _exit_interrupted() -> None:
    """Exit 130, said once. Not ``sys.exit``: CPython ends a process whose run saw an unhandled
    KeyboardInterrupt anywhere (``_Py_UnhandledKeyboardInterrupt``, set by code run through
    ``PyRun_*`` and never cleared) by re-raising SIGINT, whatever exit code it was given, so
    an interrupt that lands in such code turned exit 130 into a death by signal (-2 to the
    caller), as the Ctrl-C tests saw under load. The streams are flushed first."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader gone, a stream closed
            stream.flush()
    os._exit(130)


def main(argv: Sequence[str] | None = None) -> int:
    from offline import interrupt

    with interrupt.handled():
        try:
            try:
                code = _main(argv)
            finally:
                _close_runtime()
        except BaseException:
            # Ctrl-C during the command or while closing the runtime: the SDK may surface it
            # as another error (an import it cut short), or swallow it; any of them is the
            # interrupt's. One line, no traceback; plan folders hold the previous plan or a
            # whole new one (offline/plan.py swaps them in with Ctrl-C held back).
            if not interrupt.interrupted():
                raise
            code = interrupt.EXIT_INTERRUPTED
        if interrupt.interrupted():
            interrupt.report()
            interrupt.abandoned()
            return interrupt.EXIT_INTERRUPTED
        return code


def _close_runtime() -> None:
    """Close the Pulumi runtime's event loop, if a command ran the program: left to the garbage
    collector at exit, it is collected after its file descriptors are gone and prints
    "Exception ignored in ... BaseEventLoop.__del__" after the command's result."""
    if "offline.run" in sys.modules:
        from offline import run

        run.close_runtime()


def _main(argv: Sequence[str] | None) -> int:
    args = argparse.Namespace()
    try:
        args = build_parser().parse_args(argv)
        # one time for the whole command (--at, or now): every config read and program run
        with clock.fixed(getattr(args, "at", None) or clock.now()):
            return int(args.func(args))
    except SystemExit as e:  # argparse: --help, --version, usage errors (exit 2)
        return int(e.code or 0)
    except BrokenPipeError:
        # The reader went away (`| head`): no traceback, and no second error at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (UserError, stackfile.StackFileError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    except core.ConfigError as e:
        print(
            f"error: invalid stack config in {_files(args)} ({e.count}); nothing was written:",
            file=sys.stderr,
        )
        for p in e.problems:
            print(f"  {p}", file=sys.stderr)
        return EXIT_CONFIG


COMMANDS = (
    plan,
    migrate,
    can_i,
    who_can,
    access,
    import_,
    export,
    audit,
    stacks,
    review,
    expiring,
    grant,
)
"""In the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eks-access",
        description="Who may do what in which EKS cluster, from Pulumi stack config: plan it "
        "offline, ask who can do what, review a change, adopt a cluster.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"eks-access {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


if __name__ == "__main__":
    sys.exit(main())
