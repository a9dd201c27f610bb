"""Everything aitui does to the outside world. No Textual import here (tests/test_layers.py):
each function is usable from a script, and the UI calls it from worker threads."""
