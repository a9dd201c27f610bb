from aitui.cli import entry

entry()
