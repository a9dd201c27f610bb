"""aitui's Docker image service against the real engine."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from aitui.config import Settings
from aitui.services import images

pytestmark = pytest.mark.docker


def test_a_broken_dockerfile_ends_with_the_engines_error_and_no_tag(settings, docker_client, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM {settings.base_image}\nRUN echo about to fail && exit 3\n")
    build = images.Build(settings, tag="aitui/broken:test", context=tmp_path)
    events = list(build.events())
    assert [e.kind for e in events if e.kind == "step"], events
    assert events[-1].kind == "error"
    assert "returned a non-zero code: 3" in events[-1].text
    assert any("about to fail" in e.text for e in events if e.kind == "log")
    assert not [i for i in images.list_images(settings) if "aitui/broken:test" in i.tags]


def test_a_missing_dockerfile_is_a_clear_error(settings, tmp_path: Path) -> None:
    events = list(images.Build(settings, tag="aitui/none:test", context=tmp_path).events())
    assert [e.kind for e in events] == ["error"] and "no Dockerfile" in events[0].text


def test_the_recognizer_image_is_listed_first_and_marked(settings, recognizer_image) -> None:
    found = images.list_images(settings)
    assert found[0].recognizer
    assert any(recognizer_image in i.tags and i.recognizer for i in found)


def test_an_unreachable_engine_is_a_docker_error_not_a_traceback() -> None:
    from conftest import free_port

    s = Settings(docker_host=f"tcp://127.0.0.1:{free_port()}", timeout=1)
    with pytest.raises(images.DockerError, match="connection refused"):
        images.list_images(s)


def test_the_tag_follows_the_sources(tmp_path: Path) -> None:
    (tmp_path / "recognizer").mkdir()
    (tmp_path / "recognizer" / "__init__.py").write_text('__version__ = "1.2.3"\n')
    (tmp_path / "Dockerfile").write_text("FROM x\n")
    first = images.recognizer_tag(tmp_path)
    assert first.startswith("aitui/recognizer:1.2.3-")
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / "a.whl").write_text("ignored")
    assert images.recognizer_tag(tmp_path) == first  # the wheelhouse is not the source
    (tmp_path / ".dockerignore").write_text("README.md\n**/__pycache__\n")
    first = images.recognizer_tag(tmp_path)
    (tmp_path / "README.md").write_text("docs")
    (tmp_path / "recognizer" / "__pycache__").mkdir()
    (tmp_path / "recognizer" / "__pycache__" / "x.pyc").write_text("x")
    assert images.recognizer_tag(tmp_path) == first  # what the build never sees
    (tmp_path / "Dockerfile").write_text("FROM y\n")
    assert images.recognizer_tag(tmp_path) != first


def test_the_build_says_which_commit_it_was_built_from(settings, tmp_path: Path) -> None:
    """org.opencontainers.image.revision: the commit of the build context, "-dirty" with uncommitted changes,
    and no REVISION at all outside git (the Dockerfile says "unknown" then, rather than a guess)."""
    (tmp_path / "Dockerfile").write_text("FROM x\n")
    assert "REVISION" not in images.Build(settings, tag="aitui/t:1", context=tmp_path).buildargs
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "Dockerfile"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert images.Build(settings, tag="aitui/t:1", context=tmp_path).buildargs["REVISION"] == head
    (tmp_path / "Dockerfile").write_text("FROM y\n")
    assert images.Build(settings, tag="aitui/t:1", context=tmp_path).buildargs["REVISION"] == f"{head}-dirty"


def test_an_image_pushed_to_a_registry_is_still_named_by_its_local_tag() -> None:
    """d deploys an image's first tag: after a push the engine lists the registry's tag beside the local one."""
    from aitui.services.images.catalog import _image, pushed

    raw = {"Id": "sha256:" + "ab" * 32, "Labels": {"io.aitui.component": "recognizer"},
           "RepoTags": ["127.0.0.1:5443/aitui-test/recognizer:1", "registry.example.com/t/recognizer:1",
                        "aitui/recognizer:1", "localhost/x:1"]}
    assert _image(raw).tags == ("aitui/recognizer:1", "127.0.0.1:5443/aitui-test/recognizer:1",
                                "registry.example.com/t/recognizer:1", "localhost/x:1")
    assert not pushed("aitui/recognizer:1") and not pushed("recognizer:1") and not pushed("team/app:1")
