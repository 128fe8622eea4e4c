"""What the app does, without Qt: the live policy, decode, batch and training jobs, photo
framing, training plans and data checks, the files it writes and its settings.

The Qt side drives these; they never import PySide6 (an import-linter contract in
pyproject.toml), so they are tested as plain Python.
"""
