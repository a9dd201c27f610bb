"""aitui: build, deploy, scale, watch and try a TensorFlow image recognizer from a terminal."""

__version__ = "0.1.0"
