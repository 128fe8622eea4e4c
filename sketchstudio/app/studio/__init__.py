"""The studio window: its state (studio.py, as signals), the main window and its widgets."""
