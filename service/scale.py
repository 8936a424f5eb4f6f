"""Ray, for audits beyond one process: a local Ray by default (nothing to start), a running
cluster by address. Shared by ``ashiwatch batch`` and ``ashiwatch serve --jobs ray``
(docs/scale.md). Ray is the scale extra: imported only here, only when asked for."""

from __future__ import annotations

import logging
import os
import time


class ScaleError(RuntimeError):
    """Ray is not installed, or the cluster cannot be reached: one line."""


def init_ray(workers: int, address: str | None = None) -> tuple[str, float]:
    """Start a local Ray with ``workers`` CPUs, or join the cluster at ``address`` (or
    RAY_ADDRESS); (what was joined, seconds it took). Idempotent within a process."""
    # Ray reports usage statistics to its makers over the network unless told not to; this
    # project reaches no network beyond the package registries
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise ScaleError("Ray is not installed: it is the scale extra "
                         "(bash scripts/setup installs it; pip install 'ashiwatch[scale]')")
    address = address or os.environ.get("RAY_ADDRESS") or None
    t0 = time.perf_counter()
    if ray.is_initialized():
        return "ray (already started)", 0.0
    quiet = dict(logging_level=logging.ERROR, log_to_driver=False, configure_logging=True)
    try:
        if address:
            ray.init(address=address, **quiet)
            where = f"the Ray cluster at {address}"
        else:
            # a local Ray: the object store carries reports and pages only (inputs are read
            # from their paths), so it stays small instead of Ray's 30 % of the memory
            # address "local": a new Ray of our own even where `ray start` left one running
            # on this machine (ray.init would join that one, with its CPUs)
            ray.init(address="local", num_cpus=workers, include_dashboard=False,
                     object_store_memory=256 * 1024 * 1024, **quiet)
            where = f"a local Ray with {workers} worker CPU(s)"
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise ScaleError(f"cannot start or join Ray ({address or 'local'}): "
                         f"{str(e).splitlines()[0] if str(e) else type(e).__name__}")
    return where, time.perf_counter() - t0


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports KiB)."""
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
