"""Docker HEALTHCHECK without a shell or curl: exit 0 when /v2/health/ready answers 200."""

import os
import sys
import urllib.request

port = os.environ.get("RECOGNIZER_PORT", "8501")
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
