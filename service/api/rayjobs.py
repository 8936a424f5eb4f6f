"""Audit jobs as Ray tasks (``ashiwatch serve --jobs ray``): the same child main as a local
job (service.api.jobwork.run), its messages through a Ray queue to the job's own process
(``bridge``), which passes them on through its pipe as a local job would. The job
queue, its bounds and its restarts stay in service.api.jobs; Ray adds that a worker which dies
mid-audit (killed, out of memory) is replaced and the task run again from the start, within
the same attempt of the job, so that the job is reported once (docs/scale.md).

The service starts or joins Ray (``cluster_address``) but submits no task itself. On a
cluster the workers read the upload and write the snapshots at the same paths as the
service: its data folder must be on storage they share."""

from __future__ import annotations

import shutil

from service.api import jobwork

# a worker that dies mid-audit is replaced this many times before the job's attempt fails
# (and the job queue's own MAX_ATTEMPTS then applies)
TASK_RETRIES = 2


class _QueueConn:
    """What jobwork.run sends to: a Ray queue read by the service."""

    def __init__(self, queue) -> None:
        self.queue = queue

    def send(self, msg: tuple) -> None:
        self.queue.put(msg)

    def close(self) -> None:
        pass


def ray_job(task: jobwork.Task, queue) -> None:
    """A job on a Ray worker. A retry after a dead worker starts clean: what the dead try
    wrote (snapshots, a part of the annotated video) is removed first."""
    shutil.rmtree(task.snapshots_dir, ignore_errors=True)
    if task.video_out is not None:
        task.video_out.unlink(missing_ok=True)
    jobwork.run(task, _QueueConn(queue))


_REMOTE = None


def _remote():
    global _REMOTE
    if _REMOTE is None:
        import ray
        _REMOTE = ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(ray_job)
    return _REMOTE


def cluster_address(address: str | None) -> str:
    """The address job processes join: the cluster's, or the local Ray's that this process
    starts (service.scale.init_ray) and keeps while the service runs."""
    from service.scale import init_ray
    init_ray(1, address)
    import ray
    return ray.get_runtime_context().gcs_address


def bridge(task: jobwork.Task, conn, address: str) -> None:
    """A job process's main under ``--jobs ray`` (jobs.ProcessExecution runs it): joins the
    Ray, runs the job as a Ray task and passes its messages on. The service never submits a
    Ray task itself: a fault in Ray's driver code (Ray 2.60 was seen to abort a driver whose
    task's worker had been killed) takes down this process, not the service, and the job
    queue tries again (MAX_ATTEMPTS). Killing this process (DELETE, budget, stall) ends the
    task too: Ray stops the tasks of a driver that is gone."""
    import logging
    import os

    jobwork._die_with_the_service()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray
    from ray.exceptions import RayError
    from ray.util.queue import Empty, Queue
    try:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
        queue = Queue(actor_options={"num_cpus": 0})
        ref = _remote().options(name=f"audit-{task.job_id[:8]}").remote(task, queue)
        while True:
            try:
                msg = queue.get(timeout=0.25)
            except Empty:
                ready, _ = ray.wait([ref], timeout=0)
                if ready and queue.empty():
                    try:
                        ray.get(ref)
                        conn.send(("gone", "its Ray task ended without a report"))
                    except RayError as e:
                        conn.send(("gone", f"its Ray worker died {TASK_RETRIES + 1} times "
                                           f"({type(e).__name__})"))
                    return
                continue
            conn.send(msg)
            if msg[0] != "progress":
                return
    except (ConnectionError, RuntimeError) as e:
        conn.send(("gone", f"cannot join Ray at {address} ({e})"))
    finally:
        conn.close()
