"""Detectors: pure functions over an igraph projection, the runner and run records."""
