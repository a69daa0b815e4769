"""Building the sandbox image offline: debootstrap a minimal Debian with python3, then `docker import`.

No container registry is reachable where cosr runs, so the image is made from Debian packages:
`debootstrap --variant=minbase --include=python3` into a folder, trimmed, packed into a tarball
cached under ~/.cache/cosr/ (a later re-import skips the minute of debootstrap), and imported
under the configured tag (`cosr-sandbox:2`) with `runner.py` added, read-only, at RUNNER_IN_IMAGE, so a
container's command line is a short path rather than the runner's source. The image is labelled with the
runner's digest: the pool refuses an image holding another runner than this cosr's, and a build replaces
it. Nothing is done when the tag exists with this runner.
The Debian mirror and suite are read from this machine's apt sources, never written down here.
Bump RECIPE when what goes into the rootfs changes.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from cosr.sandbox.engine import RUNNER, RUNNER_IN_IMAGE, RUNNER_LABEL, check_engine, connect, runner_digest
from cosr.sandbox.types import SandboxUnavailable

RECIPE = "1"
PACKAGES = ["python3"]
TRIM = ["var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale"]
SOURCES = [Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d")]


def cache_dir() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "cosr"


def _entries(text: str, deb822: bool) -> list[tuple[str, list[str]]]:
    """(uri, suites) of every `deb` entry in one apt sources file, one-line or deb822 format."""
    found: list[tuple[str, list[str]]] = []
    if deb822:
        for stanza in re.split(r"\n\s*\n", text):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if ":" in line and not line.lstrip().startswith("#") and not line[:1].isspace():
                    key, _, value = line.partition(":")
                    fields[key.strip().lower()] = value.strip()
            if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes") != "no":
                for uri in fields.get("uris", "").split():
                    found.append((uri, fields.get("suites", "").split()))
        return found
    for line in text.splitlines():
        line = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()  # type: ignore[assignment]
        if len(line) >= 3 and line[0] == "deb":
            found.append((line[1], [line[2]]))
    return found


def apt_mirror(sources: list[Path] | None = None) -> tuple[str, str]:
    """The (mirror URI, release suite) this machine installs Debian packages from."""
    files: list[Path] = []
    for src in sources or SOURCES:
        if src.is_dir():
            files += sorted(p for p in src.iterdir() if p.suffix in (".list", ".sources"))
        elif src.is_file():
            files.append(src)
    for path in files:
        for uri, suites in _entries(path.read_text(errors="replace"), path.suffix == ".sources"):
            for suite in suites:
                if "-" not in suite and "/" not in suite and uri.startswith(("http://", "https://", "file:")):
                    return uri, suite  # the release itself, not -updates / -security
    raise SandboxUnavailable(
        "no Debian mirror found in this machine's apt sources (/etc/apt/sources.list[.d]); "
        "debootstrap needs one to build the sandbox image"
    )


def rootfs_tarball(log: Callable[[str], None] = print, rebuild: bool = False) -> Path:
    """The cached rootfs tarball, made with debootstrap when absent (needs root)."""
    mirror, suite = apt_mirror()
    out = cache_dir() / f"sandbox-rootfs-{suite}-r{RECIPE}.tar"
    if out.exists() and not rebuild:
        log(f"rootfs tarball cached: {out}")
        return out
    if shutil.which("debootstrap") is None:
        raise SandboxUnavailable("debootstrap is not installed: `sudo apt-get install -y debootstrap`")
    if os.geteuid() != 0:
        raise SandboxUnavailable("building the rootfs needs root (debootstrap): run `sudo cosr sandbox build`")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix="rootfs-") as tmp:
        root = Path(tmp) / "root"
        log(f"debootstrap --variant=minbase {suite} (python3) from this machine's apt mirror ...")
        cmd = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", suite, str(root), mirror]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise SandboxUnavailable(f"debootstrap failed ({done.returncode}): {(done.stdout + done.stderr)[-2000:]}")
        for rel in TRIM:
            target = root / rel
            if target.is_dir():
                for child in target.iterdir():
                    shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        partial = out.with_suffix(".partial")
        subprocess.run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."], check=True)
        partial.replace(out)
    log(f"rootfs tarball written: {out} ({out.stat().st_size >> 20} MiB)")
    return out


def with_runner(rootfs: Path, out: Path) -> None:
    """A copy of the rootfs tarball with runner.py added at RUNNER_IN_IMAGE, owned by root, read-only."""
    shutil.copyfile(rootfs, out)
    source = RUNNER.read_bytes()
    folder = tarfile.TarInfo("." + os.path.dirname(RUNNER_IN_IMAGE))
    folder.type, folder.mode = tarfile.DIRTYPE, 0o755
    runner = tarfile.TarInfo("." + RUNNER_IN_IMAGE)
    runner.size, runner.mode = len(source), 0o444
    with tarfile.open(out, "a") as tar:
        tar.addfile(folder)
        tar.addfile(runner, io.BytesIO(source))


def build_image(image: str, log: Callable[[str], None] = print, force: bool = False) -> str:
    """Make sure `image` exists and holds this cosr's runner; returns "present" or "built"."""
    status = check_engine(image)
    if status.ok and not force:
        log(f"image {image} already present; nothing to do")
        return "present"
    if status.image_present and not force:
        log(f"{status.problem}: rebuilding it")
    client = connect()
    try:
        rootfs = rootfs_tarball(log)
        repository, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "latest")
        log(f"docker import {rootfs.name} + {RUNNER.name} as {image} ...")
        with tempfile.TemporaryDirectory(dir=rootfs.parent, prefix="image-") as tmp:
            tarball = Path(tmp) / "image.tar"
            with_runner(rootfs, tarball)
            client.api.import_image_from_file(
                str(tarball),
                repository=repository,
                tag=tag,
                changes=["ENV PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8", 'CMD ["python3"]',
                         f"LABEL {RUNNER_LABEL}={runner_digest()}"],
            )
        client.images.get(image)  # raises if the import did not produce the tag
        log(f"image {image} built")
        return "built"
    finally:
        client.close()
