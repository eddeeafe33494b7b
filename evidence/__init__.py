"""Evidence: select a run's flagged subgraph, export it in every format, sign it as a package, verify packages."""
