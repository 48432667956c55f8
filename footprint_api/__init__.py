"""The service edge: CLI now; HTTP API, persistence, auth and tasks build on the same domain packages."""
