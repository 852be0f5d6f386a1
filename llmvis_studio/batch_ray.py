"""`batch --engine ray`: the same batch, spread over a Ray actor pool (a local head or an existing cluster).

Each actor holds one Engine, so a model loads once per worker, not once per image, and runs
batch.attempt_one — the very function the local loop calls — so outputs are the same bytes and the
resume rules are the same: the driver lists what is pending (done files skipped), each image is
written atomically by the worker that made it, inputs are only read.

Faults: the driver keeps one image in flight per actor. If an actor dies (killed, out of memory, node
lost), its image goes back to the front of the queue for whichever worker is free next, and a fresh
actor takes the dead one's place. An image that kills its worker MAX_TRIES times is recorded as failed,
so one poisonous file cannot stall the run. A dead worker's temp file is removed at the end (its pid is
gone); a second run finishes whatever is left.

Ray is optional (the `cluster` extra) and imported only here, lazily; the desktop bundle never has it.
Network: with no --address a private Ray instance starts on 127.0.0.1 only, and stops with the run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .batch import BatchJob, BatchSummary, attempt_one, prepare, record_failure
from .core.errors import InputError, StudioError
from .core.progress import Progress
from .files.atomic import remove_stale_temp_files

log = logging.getLogger(__name__)
MISSING_RAY = "Ray is not installed; install the cluster extra: pip install 'llmvis-studio[cluster]'"
MAX_TRIES = 3  # an image whose worker died this often is recorded as failed
MAX_REPLACEMENTS = 3  # fresh actors per worker slot before the slot is given up
FORWARDED_ENV = ("LLMVIS_MODELS_DIR", "LLMVIS_DATA_DIR")  # where workers find models, on a shared path
CONNECT_TIMEOUT_S = 5.0


# Ray resolves "127.0.0.1" to the machine's outward address and listens there unless this is off (it is
# read when ray is imported, and inherited by the head's processes): a private head then stays on loopback.
LOOPBACK_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def import_ray(private_head: bool):
    if private_head and "ray" not in sys.modules:
        os.environ[LOOPBACK_ONLY_ENV] = "0"
    try:
        import ray
    except ImportError as exc:
        raise InputError(MISSING_RAY, detail=repr(exc)) from exc
    return ray


@dataclass
class ImageOutcome:
    """What a worker reports for one image; shaped like an EditResult for the CLI's --json summary."""

    source: str
    error: Optional[str] = None
    model_id: Optional[str] = None
    provider: Optional[str] = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    worker_pid: int = 0


class BatchWorker:
    """The body of one Ray actor: one Engine, loaded lazily and kept for every image given to it."""

    def __init__(self, env: dict[str, str], threads: int) -> None:
        os.environ.update(env)  # before the Engine reads the catalog location
        self.threads = threads
        self.engine = None  # made by the first image, so a bad catalog fails images with its reason, not the actor

    def pid(self) -> int:
        return os.getpid()

    def process(self, job: BatchJob, source: str) -> ImageOutcome:
        outcome = ImageOutcome(source=source, worker_pid=os.getpid())
        if self.engine is None:
            from .engine import Engine

            try:
                self.engine = Engine(threads=self.threads)
            except StudioError as exc:
                outcome.error = exc.user_message
                return outcome

        def run(request, progress):
            result = self.engine.run(request, progress)
            outcome.model_id, outcome.provider = result.model_id, result.provider
            outcome.seconds, outcome.notes = result.seconds, list(result.notes)
            return result

        outcome.error = attempt_one(job, Path(source), run, Progress())
        return outcome


def first_line(exc: BaseException, limit: int = 200) -> str:
    """Ray's messages run to many lines; the CLI shows one."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__


# ---------------------------------------------------------------- connecting


def check_reachable(address: str) -> None:
    """A plain host:port must accept a TCP connection before Ray is asked (which would retry for a minute)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "://" in address:
        return  # "auto", "ray://...": Ray's own checks apply
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"Cannot reach the Ray cluster at {address}: {reason.lower()}.", detail=repr(exc)) from exc


def check_loopback(ray) -> None:
    """A private head must not listen beyond this machine; stop it if Ray picked an outward address."""
    address = ray.util.get_node_ip_address()
    if address not in ("127.0.0.1", "::1", "localhost"):
        ray.shutdown()
        raise StudioError(
            f"The local Ray instance chose {address} instead of 127.0.0.1 and was stopped; "
            f"set {LOOPBACK_ONLY_ENV}=0 before Python imports ray."
        )


@contextlib.contextmanager
def connected(ray, address: Optional[str], workers: int) -> Iterator[None]:
    """Use an already running Ray session, join ADDRESS, or start a private head on loopback; stop what we started."""
    if ray.is_initialized():
        yield
        return
    quiet = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    try:
        if address:
            check_reachable(address)
            ray.init(address=address, **quiet)
        else:
            ray.init(address="local", num_cpus=workers, **quiet)
            check_loopback(ray)
    except StudioError:
        raise
    except Exception as exc:  # ConnectionError, TimeoutError, RuntimeError from Ray's start-up
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise InputError(f"Cannot connect to {where}: {first_line(exc)}", detail=repr(exc)) from exc
    try:
        yield
    finally:
        ray.shutdown()


# ---------------------------------------------------------------- the pool


def gpus_per_worker(ray, device: str, workers: int) -> float:
    """Ray hides every GPU from an actor that asks for none, so --device auto|cuda asks for a share of them
    (where the cluster has any): the workers then run on the provider the local engine would use."""
    if device == "cpu":
        return 0.0
    gpus = float(ray.cluster_resources().get("GPU", 0))
    return min(1.0, gpus / workers) if gpus > 0 else 0.0


class WorkerPool:
    """N actor slots; a slot whose actor died gets a fresh one, up to MAX_REPLACEMENTS times."""

    def __init__(self, ray, workers: int, threads: int = 1, device: str = "auto") -> None:
        self.ray = ray
        env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
        options = dict(num_cpus=threads, num_gpus=gpus_per_worker(ray, device, workers))
        self._make = lambda: ray.remote(BatchWorker).options(**options).remote(env, threads)
        self.actors: dict[int, Any] = {slot: self._make() for slot in range(workers)}
        self.replaced = {slot: 0 for slot in range(workers)}

    def pids(self) -> dict[int, int]:
        """slot → worker process id (waits for the actors to start)."""
        slots = list(self.actors)
        return dict(zip(slots, self.ray.get([self.actors[s].pid.remote() for s in slots])))

    def replace(self, slot: int) -> bool:
        """Swap a dead actor for a fresh one; False when the slot has used up its replacements."""
        with contextlib.suppress(Exception):
            self.ray.kill(self.actors[slot], no_restart=True)
        if self.replaced[slot] >= MAX_REPLACEMENTS:
            del self.actors[slot]
            return False
        self.replaced[slot] += 1
        self.actors[slot] = self._make()
        return True

    def close(self) -> None:
        for actor in self.actors.values():
            with contextlib.suppress(Exception):
                self.ray.kill(actor, no_restart=True)
        self.actors.clear()


def run_batch_ray(
    job: BatchJob,
    workers: int = 2,
    address: Optional[str] = None,
    on_file: Optional[Callable[[int, int, Path], None]] = None,
    on_result: Optional[Callable[[ImageOutcome], None]] = None,
    on_pool: Optional[Callable[[WorkerPool], None]] = None,
) -> BatchSummary:
    """Like batch.run_batch, on `workers` Ray actors. on_file(done, total, source) after each image;
    on_result(outcome) for each written one; on_pool(pool) once the actors exist (tests use it)."""
    if workers < 1:
        raise InputError("--workers must be at least 1.")
    ray = import_ray(private_head=not address)
    summary, todo, started = prepare(job)  # folder checks and skips before any cluster is touched
    if todo:
        with connected(ray, address, workers):
            pool = WorkerPool(ray, workers, device=job.device)
            try:
                if on_pool is not None:
                    on_pool(pool)
                schedule(ray, pool, job, todo, summary, on_file, on_result)
            finally:
                pool.close()
        remove_stale_temp_files(job.output_dir, recursive=True)  # a killed worker's temp file
    summary.seconds = time.monotonic() - started
    return summary


def schedule(ray, pool: WorkerPool, job: BatchJob, todo: list[Path], summary: BatchSummary, on_file, on_result) -> None:
    """One image in flight per actor; a dead actor's image goes back to the queue for the next free worker."""
    queue: deque[Path] = deque(todo)
    tries: dict[Path, int] = {}
    in_flight: dict[Any, tuple[int, Path]] = {}
    finished = 0

    def feed(slot: int) -> None:
        if queue and slot in pool.actors:
            source = queue.popleft()
            in_flight[pool.actors[slot].process.remote(job, str(source))] = (slot, source)

    for slot in list(pool.actors):
        feed(slot)
    while in_flight:
        ready, _ = ray.wait(list(in_flight), num_returns=1)
        slot, source = in_flight.pop(ready[0])
        try:
            outcome = ray.get(ready[0])
        except ray.exceptions.RayActorError as exc:
            tries[source] = tries.get(source, 0) + 1
            log.warning("worker %s died on %s (try %d): %s", slot, source.name, tries[source], exc)
            if not pool.replace(slot) and not pool.actors:
                raise StudioError(
                    f"Every Ray worker died (the last on {source.name}: {first_line(exc)}); rerun to finish the rest.",
                    detail=repr(exc),
                ) from exc
            if tries[source] < MAX_TRIES:
                queue.appendleft(source)
                feed(slot)
                for idle in set(pool.actors) - {s for s, _ in in_flight.values()}:
                    feed(idle)
                continue
            outcome = ImageOutcome(str(source), error=f"its worker process died {tries[source]} times")
        except ray.exceptions.RayError as exc:  # a bug or a lost object: this image fails, the run goes on
            outcome = ImageOutcome(str(source), error=f"{type(exc).__name__}: {first_line(exc)}")
        finished += 1
        if outcome.error is None:
            summary.done += 1
            if on_result is not None:
                on_result(outcome)
        else:
            record_failure(job, summary, source, outcome.error)
        if on_file is not None:
            on_file(finished, len(todo), source)
        feed(slot)
