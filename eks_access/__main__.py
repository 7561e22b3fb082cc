"""`python -m eks_access`: the command line's entry point, kept for habit and scripts; the
command line itself is the ``cli`` package (the core does not depend on it otherwise)."""

import os
import sys

try:
    from cli.main import entry
except KeyboardInterrupt:  # Ctrl-C while the command line loads: the same line and exit
    sys.stderr.write("interrupted: stopped (no plan is left half written)\n")
    sys.stderr.flush()
    os._exit(130)  # not sys.exit: see cli.main._exit_interrupted

entry()
