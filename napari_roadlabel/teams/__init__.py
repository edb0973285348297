"""Team work over projects: jobs split from a sequence and merged back, their stages, and the dataset's status.

Pure like ``temporal`` and ``qa``: it uses ``core``, ``io`` and ``qa``, never napari or Qt.
"""
