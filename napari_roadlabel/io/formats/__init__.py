"""File formats: one module per format, each with an export and an import function."""
