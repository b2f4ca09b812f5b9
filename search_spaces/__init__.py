"""Shipped search-space files (YAML), read with `codesign.space.load_space(name)`."""
