"""`python -m eks_access`: the command line's entry point, kept for habit and scripts; the
command line itself is the ``cli`` package (the core does not depend on it otherwise)."""

from cli.main import entry

entry()
