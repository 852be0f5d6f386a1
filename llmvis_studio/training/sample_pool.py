"""A ring buffer of training samples filled by a background thread (making a sample, e.g. an OpenCV fill or a
synthetic print defect, costs more than a training step uses it); batches re-use samples under random D4 transforms."""

from __future__ import annotations

import threading
import time

import numpy as np


class SamplePool:
    """A ring buffer of samples filled by a background thread; batches re-use samples under random D4 transforms."""

    def __init__(self, make, images, patch: int, seed: int, size: int = 1500, reuse: float = 3.0) -> None:
        self.make, self.images, self.patch = make, images, patch
        w = np.array([im.shape[0] * im.shape[1] for im in images], dtype=np.float64) ** 0.5
        self.weights = w / w.sum()
        self.rng = np.random.default_rng(seed + 777)
        self.size, self.reuse = size, reuse
        self.items: list[tuple[np.ndarray, ...]] = []
        self.made = 0
        self.drawn = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self, minimum: int) -> SamplePool:
        for _ in range(minimum):
            self._add()
        self.thread.start()
        return self

    def _add(self) -> None:
        s = self.make(self.rng, self.images, self.patch, self.weights)
        with self.lock:
            if len(self.items) < self.size:
                self.items.append(s)
            else:
                self.items[self.made % self.size] = s
            self.made += 1

    def _run(self) -> None:
        while not self.stop.is_set():
            if self.made * self.reuse < self.drawn or len(self.items) < self.size:
                self._add()
            else:
                time.sleep(0.005)

    def batch(self, rng: np.random.Generator, n: int) -> list[tuple[np.ndarray, ...]]:
        with self.lock:
            idx = rng.integers(0, len(self.items), n)
            chosen = [self.items[int(i)] for i in idx]
        self.drawn += n
        out = []
        for s in chosen:
            k, flip = int(rng.integers(0, 4)), bool(rng.random() < 0.5)
            t = []
            for a in s:
                a = np.rot90(a, k)
                if flip:
                    a = a[:, ::-1]
                t.append(np.ascontiguousarray(a))
            out.append(tuple(t))
        return out

    def close(self) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)
