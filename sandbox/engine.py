"""Finding a usable Docker engine, and saying exactly what is missing and how to fix it.

We talk to the engine with the docker SDK (the `docker` package) rather than the CLI: it gives
typed errors to tell "not installed" from "not running" from "no image", and the raw attach
socket the pool uses as a byte pipe to each container's runner, with no CLI process per
container in between.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from cosr.sandbox.types import SandboxUnavailable

FIX_INSTALL = "install it: `sudo apt-get install -y docker.io` (or run scripts/docker-up.sh)"
FIX_START = "start it: `sudo dockerd > /tmp/dockerd.log 2>&1 &` (or run scripts/docker-up.sh)"
FIX_BUILD = "build it: `cosr sandbox build` (offline: debootstrap + docker import)"

RUNNER = Path(__file__).with_name("runner.py")
RUNNER_IN_IMAGE = "/opt/cosr/runner.py"  # copied in by image.py: `ps` shows a path, not the runner's source
RUNNER_LABEL = "cosr.runner.sha256"  # the image's record of which runner.py it holds


def runner_digest() -> str:
    return hashlib.sha256(RUNNER.read_bytes()).hexdigest()


class EngineStatus(BaseModel):
    installed: bool
    running: bool
    server_version: str | None = None
    image: str | None = None
    image_present: bool = False
    image_id: str | None = None
    problem: str | None = None
    fix: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _installed() -> bool:
    return bool(
        os.environ.get("DOCKER_HOST")
        or shutil.which("dockerd")
        or shutil.which("docker")
        or os.path.exists("/var/run/docker.sock")
    )


def check_engine(image: str | None) -> EngineStatus:
    """What works and what does not, without raising (the image is checked when named)."""
    if not _installed():
        return EngineStatus(installed=False, running=False, image=image, problem="no Docker engine is installed", fix=FIX_INSTALL)
    import docker
    from docker.errors import DockerException, ImageNotFound

    try:
        client = docker.from_env(timeout=20)
        version = client.version().get("Version")
    except DockerException as e:
        text = str(e)
        if "Permission denied" in text:
            return EngineStatus(
                installed=True,
                running=True,
                image=image,
                problem=f"the Docker engine refuses this user: {text}",
                fix="run as root or add this user to the `docker` group",
            )
        return EngineStatus(installed=True, running=False, image=image, problem=f"the Docker engine is not running ({text})", fix=FIX_START)
    if image is None:
        client.close()
        return EngineStatus(installed=True, running=True, server_version=version)
    try:
        found = client.images.get(image)
    except ImageNotFound:
        return EngineStatus(
            installed=True, running=True, server_version=version, image=image, problem=f"the sandbox image {image} is missing", fix=FIX_BUILD
        )
    finally:
        client.close()
    present = EngineStatus(installed=True, running=True, server_version=version, image=image, image_present=True,
                           image_id=found.id)
    if found.labels.get(RUNNER_LABEL) != runner_digest():  # containers would run another runner than this cosr's
        return present.model_copy(update={"problem": f"the sandbox image {image} holds another version of the runner "
                                                     "than this cosr", "fix": FIX_BUILD})
    return present


def connect(image: str | None = None) -> Any:
    """A docker client, with the image checked when given; SandboxUnavailable says what to do otherwise."""
    status = check_engine(image)
    if status.problem:
        raise SandboxUnavailable(f"{status.problem}; {status.fix}")
    import docker

    return docker.from_env(timeout=60)
