"""Detectors: pure functions over a numpy projection of the graph (igraph for Leiden), the runner and run records."""
