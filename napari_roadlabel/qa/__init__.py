"""Quality checks of annotations: metrics, validators, review; uses the core only, never napari or Qt."""
