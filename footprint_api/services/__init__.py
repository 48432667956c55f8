"""Business rules of the service: plain functions on a session and a principal, no HTTP."""
