"""Sub-commands of the `codesign` CLI, one module each (see `codesign.cli`)."""
