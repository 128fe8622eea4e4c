"""SketchStudio: face photos to hand-drawn-looking sketches by masked generative modelling."""

__version__ = "0.1.0"
