import os

if int(os.environ.get("RECOGNIZER_WORKERS", "1")) > 1 and "RECOGNIZER_WORKER" not in os.environ:
    from recognizer.workers import main  # a supervisor of several server processes
else:
    from recognizer.server import main

main()
