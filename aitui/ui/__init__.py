"""Widgets and screens. No docker or kubernetes import here (tests/test_layers.py): the UI
reaches the engines only through aitui.services, from worker threads."""
