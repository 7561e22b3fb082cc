"""One module per command: ``register(subparsers)`` adds its parser, ``run(args)`` parses
nothing more and calls the core."""
