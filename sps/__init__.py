"""The user-facing side of the project: the `sps` command (sps.cli) and its subcommands
(sps/commands/), plus the tables and plots of the network reports (sps.tables). The compiler
(compiler/), the models (models/) and the verification environment (tb/env) are libraries it uses;
nothing in them imports sps."""
