"""Regenerate the SVG screenshots in this folder from the real app, against the real engines
(this machine's Docker engine and Prometheus, as configured for aitui):

    .venv/bin/python screenshots/make.py
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from aitui import config  # noqa: E402
from aitui.app import AituiApp  # noqa: E402
from aitui.ui.header import StatusBar  # noqa: E402

SIZES = ((120, 36), (80, 24))


async def shoot(name: str, size: tuple[int, int]) -> Path:
    app = AituiApp(config.load())
    async with app.run_test(size=size) as pilot:
        deadline = time.monotonic() + 20  # wait until every engine has answered, one way or the other
        while time.monotonic() < deadline and None in app.query_one(StatusBar).health.values():
            await pilot.pause(0.1)
        await app.workers.wait_for_complete()
        await pilot.pause()
        out = HERE / f"{name}-{size[0]}x{size[1]}.svg"
        app.save_screenshot(str(out.name), str(HERE))
        return out


def main() -> None:
    for size in SIZES:
        print(asyncio.run(shoot("main", size)))


if __name__ == "__main__":
    main()
