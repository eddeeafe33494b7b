"""The edge: FastAPI service, the `crumbgraph` command line, settings, auth and audit."""
