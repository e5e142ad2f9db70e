"""The `listener` command line: one module per command group, all wired in `service.cli.main`."""
