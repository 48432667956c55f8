"""The PCR registry of the service: `source` answers `pcr_rules.registry.default_registry()` from the database in
every process; `footprint_api.services.pcr_registry` is how standards bodies write versions and how the service
decides which versions apply."""
