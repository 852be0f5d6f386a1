"""The Ray engine's scheduler without a cluster: dead workers' images are requeued, a poisonous image is given
up after MAX_TRIES, a slot that keeps dying is dropped, and no worker left at all is one clear error.
(The real cluster, with a real kill, is tests/engine/test_batch_ray.py.)"""

from pathlib import Path
from types import SimpleNamespace

import pytest

from llmvis_studio.batch import BatchJob, BatchSummary
from llmvis_studio.batch_ray import MAX_TRIES, ImageOutcome, schedule
from llmvis_studio.core.errors import StudioError


class RayError(Exception):
    pass


class RayActorError(RayError):
    pass


class Ref:
    def __init__(self, outcome=None, error=None):
        self.outcome, self.error = outcome, error


class FakeRay:
    exceptions = SimpleNamespace(RayError=RayError, RayActorError=RayActorError)

    @staticmethod
    def wait(refs, num_returns=1):
        return refs[:1], refs[1:]

    @staticmethod
    def get(ref):
        if ref.error:
            raise ref.error
        return ref.outcome


class FakeActor:
    """Dies on the images in `kills` (a name → how many more times it kills its worker)."""

    def __init__(self, pool, kills):
        self.pid, self.kills, self.pool = pool.next_pid(), kills, pool
        self.process = SimpleNamespace(remote=self.run)

    def run(self, job, source):
        name = Path(source).name
        if self.kills.get(name, 0) > 0:
            self.kills[name] -= 1
            return Ref(error=RayActorError(f"worker {self.pid} killed\nmore lines"))
        self.pool.writers.setdefault(name, []).append(self.pid)
        return Ref(ImageOutcome(source, worker_pid=self.pid))


class FakePool:
    def __init__(self, workers, kills, replacements=3):
        self._pid, self.kills, self.left, self.writers = 100, kills, replacements, {}
        self.actors = {slot: FakeActor(self, kills) for slot in range(workers)}

    def next_pid(self):
        self._pid += 1
        return self._pid

    def replace(self, slot):
        if self.left == 0:
            del self.actors[slot]
            return False
        self.left -= 1
        self.actors[slot] = FakeActor(self, self.kills)
        return True


def run(tmp_path, names, kills, workers=2, replacements=3):
    job = BatchJob(op="upscale", input_dir=tmp_path / "in", output_dir=tmp_path)
    pool, summary, seen = FakePool(workers, kills, replacements), BatchSummary(), []
    todo = [tmp_path / "in" / n for n in names]
    schedule(FakeRay, pool, job, todo, summary, lambda done, total, source: seen.append(done), None)
    return summary, pool, seen


def test_a_killed_workers_image_is_redone_by_a_fresh_worker(tmp_path):
    names = [f"img{i}.png" for i in range(6)]
    summary, pool, seen = run(tmp_path, names, {"img2.png": 1})
    assert (summary.done, summary.failed) == (6, 0)
    assert sorted(pool.writers) == names and all(len(w) == 1 for w in pool.writers.values())
    assert pool.writers["img2.png"][0] > 102, "redone by a replacement actor"
    assert seen == list(range(1, 7))


def test_an_image_that_always_kills_its_worker_is_given_up(tmp_path):
    names = ["a.png", "poison.png", "c.png"]
    summary, pool, _ = run(tmp_path, names, {"poison.png": 99}, replacements=10)
    assert (summary.done, summary.failed) == (2, 1)
    assert summary.errors == [f"poison.png: its worker process died {MAX_TRIES} times"]
    assert "poison.png" in (tmp_path / "batch-errors.log").read_text()


def test_no_worker_left_is_one_clear_error(tmp_path):
    with pytest.raises(StudioError) as caught:
        run(tmp_path, ["a.png", "b.png"], {"a.png": 99, "b.png": 99}, workers=1, replacements=0)
    assert "Every Ray worker died" in caught.value.user_message
    assert "\n" not in caught.value.user_message


@pytest.mark.parametrize(
    "device, gpus, workers, share",
    [
        ("cpu", 1, 2, 0.0),
        ("auto", 0, 2, 0.0),
        ("auto", 1, 2, 0.5),
        ("cuda", 1, 4, 0.25),
        ("auto", 4, 2, 1.0),
    ],
)
def test_workers_ask_for_a_share_of_the_gpus_unless_cpu(device, gpus, workers, share):
    from llmvis_studio.batch_ray import gpus_per_worker

    fake = SimpleNamespace(cluster_resources=lambda: {"CPU": 8.0, **({"GPU": float(gpus)} if gpus else {})})
    assert gpus_per_worker(fake, device, workers) == share
