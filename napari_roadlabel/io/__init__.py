"""Reading frames, and importing and exporting annotation formats."""
