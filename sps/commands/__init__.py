"""One module per `sps` subcommand: HELP, a docstring with an example, add_arguments, run."""
