"""HTTP routes: parse, authorise, call a service function, return a schema."""
