"""The Docker engine's images, in three jobs: the catalog (catalog.py: list them, each with its model.json),
the build (build.py: streamed events in stages, the tag, the estimate) and distribution (distribution.py:
tag and push to a registry, load into a node's containerd); engine.py holds the client they share and the
engine's events."""

from __future__ import annotations

from aitui.services.images.build import (
           DOCKER_STAGES,
           LINE_LIMIT,
           TRAINING_STEP,
           Build,
           BuildLines,
           _Stages,
           recognizer_tag,
           record_stage_times,
           serving_dir,
           source_revision,
           stage_times,
)
from aitui.services.images.catalog import (
           COMPONENT_LABEL,
           MODEL_LABEL,
           READS_LABEL,
           REPOSITORY,
           known_models,
           list_images,
           model_of_image,
           read_models,
           with_models,
           writes_refused,
)
from aitui.services.images.distribution import image_in_containerd, load_into_containerd, push_image, tag_image
from aitui.services.images.engine import DockerError, _clients, client, events

__all__ = ["COMPONENT_LABEL", "DOCKER_STAGES", "LINE_LIMIT", "MODEL_LABEL", "READS_LABEL", "REPOSITORY",
           "TRAINING_STEP", "Build", "BuildLines", "DockerError", "_Stages", "_clients", "client", "events",
           "image_in_containerd", "known_models", "list_images", "load_into_containerd", "model_of_image",
           "push_image", "read_models",
           "recognizer_tag", "record_stage_times", "serving_dir", "source_revision", "stage_times", "tag_image",
           "with_models", "writes_refused"]
