"""Data preparation on top of the core: face detection and cropping, datasets (no Qt)."""
