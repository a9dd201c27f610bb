"""The recognizer: an image classifier served over TF Serving REST v1 and Open Inference Protocol v2."""

__version__ = "0.1.0"
