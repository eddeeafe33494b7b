"""API routers, one per resource; `ROUTERS` is the explicit list the app includes."""
