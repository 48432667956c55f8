"""What every layer may import: error types, settings, the message catalogue, names of product data."""
