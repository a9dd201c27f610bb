"""The header tells the user what aitui is connected to, and why not when it is not."""

from __future__ import annotations

import pytest
from conftest import free_port

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.ui.header import StatusBar


async def header_text(app: AituiApp, pilot, want: tuple[str, ...]) -> str:
    import asyncio
    import time

    deadline = time.monotonic() + 20
    text = ""
    while time.monotonic() < deadline:
        await pilot.pause()
        text = app.query_one(StatusBar).render().plain
        if all(w in text for w in want):
            return text
        await asyncio.sleep(0.05)
    raise AssertionError(f"header never showed {want}: {text!r}")


async def test_header_reports_unreachable_docker_and_prometheus(tmp_path) -> None:
    dead = free_port()  # nothing listens here
    s = Settings(docker_host=f"tcp://127.0.0.1:{dead}", prometheus_url=f"http://127.0.0.1:{dead}",
                 kubeconfig=str(tmp_path / "missing"), timeout=1.0)
    app = AituiApp(s)
    async with app.run_test(size=(160, 24)) as pilot:
        text = await header_text(app, pilot, ("docker: ● unreachable: connection refused",
                                              f"prometheus: ● 127.0.0.1:{dead} unreachable: connection refused",
                                              "kube: ● no kubeconfig"))
        assert "ctx: local" in text
        assert "connection refused" in str(app.query_one("#images").border_subtitle)  # the panel says why, too


@pytest.mark.docker
async def test_header_shows_connected_docker_and_prometheus(settings, docker_client, prometheus) -> None:
    s = Settings(prometheus_url=prometheus.url, base_image=settings.base_image)
    version = docker_client.version()["Version"].split("+")[0]
    app = AituiApp(s)
    async with app.run_test(size=(160, 24)) as pilot:
        prom = prometheus.url.removeprefix("http://")
        await header_text(app, pilot, (f"docker: ● {version}", f"prometheus: ● {prom} ok"))
