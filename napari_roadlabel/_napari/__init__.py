"""Everything that touches napari or Qt: reader, writer, sample data, adapter, widgets."""
