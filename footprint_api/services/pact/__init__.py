"""PACT Technical Specification v3: footprints as ProductFootprints, and the events of data exchange."""
