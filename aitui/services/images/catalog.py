"""The catalog: the engine's images, the recognizer's first, each with what its model.json says."""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from aitui.config import Settings, state_dir
from aitui.models import Image
from aitui.services import labels
from aitui.services.errors import reason
from aitui.services.images.engine import DockerError, client, write_state

if TYPE_CHECKING:
    import docker

REPOSITORY = "aitui/recognizer"
COMPONENT_LABEL = "io.aitui.component"  # set by serving/Dockerfile; marks the recognizer's images
NAME_LABEL = labels.IMAGE_MODEL_LABEL  # the model an image serves (aitui's builds set it): recognizer, or a project's
# model.json as aitui's build found it, on the image it tagged: its figures are listed without a container
MODEL_LABEL = "io.aitui.model"


def list_images(settings: Settings) -> list[Image]:
    """Local images, the recognizer's first, newest first within each group."""
    try:
        raw = client(settings).api.images()
    except Exception as exc:
        raise DockerError(f"listing images failed: {reason(exc)}") from exc
    images = with_models([_image(r) for r in raw], known_models())
    return sorted(images, key=lambda i: (not i.recognizer, not i.tags, -i.created))  # dangling ones last


def pushed(tag: str) -> bool:
    """A tag that names a registry host (127.0.0.1:5443/…, registry.example.com/…), as Docker reads one."""
    first, _, rest = tag.partition("/")
    return bool(rest) and ("." in first or ":" in first or first == "localhost")


def _image(raw: dict) -> Image:
    # the local names first (aitui/recognizer:…), then a registry's (host/…: what a push added): d deploys,
    # and every screen names, the first
    tags = tuple(sorted((t for t in (raw.get("RepoTags") or []) if t != "<none>:<none>"), key=pushed))
    labels = raw.get("Labels") or {}
    recognizer = labels.get(COMPONENT_LABEL) == "recognizer" or any(t.startswith(REPOSITORY + ":") for t in tags)
    return Image(
        id=raw["Id"].removeprefix("sha256:")[:12],
        tags=tags,
        size=int(raw.get("Size") or 0),
        created=float(raw.get("Created") or 0),
        recognizer=recognizer,
        runtime=labels.get("io.aitui.runtime", ""),
        version=labels.get("org.opencontainers.image.version", ""),
        model=labels.get(NAME_LABEL) or ("recognizer" if recognizer else ""),  # (built before the label)
        accuracy=_accuracy(_labelled_model(labels)),
    )


def model_of_image(settings: Settings, image: str) -> str:
    """The model `image` serves (its IMAGE_MODEL_LABEL; none: the shipped recognizer's, built before the label):
    what deploy labels the workload with. An image the engine cannot show serves the recognizer's name."""
    try:
        found = client(settings).api.inspect_image(image)
    except Exception:
        return labels.NAME
    return ((found.get("Config") or {}).get("Labels") or {}).get(NAME_LABEL) or labels.NAME


def _labelled_model(labels: dict) -> dict:
    try:
        model = json.loads(labels.get(MODEL_LABEL) or "{}")
    except ValueError:
        return {}
    return model if isinstance(model, dict) else {}


_MODELS_FILE = "models.json"  # image id -> what its model.json says ({} when it has none)


def known_models() -> dict[str, dict]:
    """What earlier reads of images' model.json found, by image id (an id names its content, so it never changes)."""
    try:
        found = json.loads((state_dir() / _MODELS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def with_models(found: list[Image], models: dict[str, dict]) -> list[Image]:
    """The images, each recognizer with the accuracy its model.json states (its label's, else when known)."""
    return [replace(i, accuracy=_accuracy(models[i.id])) if i.recognizer and i.accuracy is None and i.id in models
            else i for i in found]


def _accuracy(model: dict) -> float | None:
    value = model.get("accuracy")
    return float(value) if isinstance(value, (int, float)) else None


READS_LABEL = "io.aitui.reads"  # on the containers read_models creates (never started); its value: the reader's pid


def writes_refused(settings: Settings) -> bool:
    """Read-only (everywhere, or the context in use, or the local engine): aitui asks the engine to create
    nothing, not even the never-started container a model.json is read from."""
    return settings.is_readonly() or settings.is_readonly("local")


def read_models(settings: Settings, image_ids: list[str]) -> dict[str, dict]:
    """Each image's /model/model.json (what training measured), read from a created, never started,
    container and kept in the state dir by image id: the image's own word, for images built anywhere
    (aitui's own builds carry it as a label: they are never read). An image without one (or gone) maps to
    {}. Images the engine cannot read now are left out; so is every image not read before, in read-only."""
    known = known_models()
    if writes_refused(settings):
        return known
    c = client(settings)
    if any(i not in known for i in image_ids):
        _sweep(c)
    for image_id in image_ids:
        if image_id not in known:
            model = read_model(c.api, image_id)
            if model is not None:
                known[image_id] = model
    write_state(_MODELS_FILE, known)
    return known


def remember_model(image_id: str, model: dict) -> None:
    """Keep what an image's model.json says (a build that labelled it knows it without a read)."""
    known = known_models()
    known[image_id] = model
    write_state(_MODELS_FILE, known)


def read_model(api: docker.APIClient, image: str) -> dict | None:
    """An image's model.json, from a created (never started) container; {} when it has none, None when the
    engine could not say (it is gone: the header says why; asked again next start)."""
    import io
    import tarfile

    container = None
    try:
        container = api.create_container(image, command=["true"], entrypoint=[], network_disabled=True,
                                         labels={READS_LABEL: str(os.getpid())})
        chunks, _stat = api.get_archive(container["Id"], "/model/model.json")
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
            member = tar.next()
            raw = tar.extractfile(member).read() if member else b"{}"  # type: ignore[union-attr]
        model = json.loads(raw)
        return model if isinstance(model, dict) else {}
    except Exception as exc:
        said = str(getattr(exc, "explanation", "") or exc).lower()
        if getattr(getattr(exc, "response", None), "status_code", 0) == 404 and "no such container" not in said:
            return {}  # no model.json (not one of ours, or older), or no such image any more
        return None
    finally:
        if container is not None:
            with contextlib.suppress(Exception):
                api.remove_container(container["Id"], force=True)


def _sweep(c: docker.DockerClient) -> None:
    """Remove what an earlier read left: a process that ends mid-read (its thread dies with it) leaves its
    created container. Only a minute old or more, so a read under way elsewhere keeps its own."""
    try:
        for found in c.api.containers(all=True, filters={"label": READS_LABEL, "status": "created"}):
            if time.time() - float(found.get("Created") or 0) > 60:
                with contextlib.suppress(Exception):
                    c.api.remove_container(found["Id"], force=True)
    except Exception:
        pass  # only tidying
