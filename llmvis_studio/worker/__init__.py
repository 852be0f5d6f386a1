"""The only place Qt meets the engine: one long-lived QThread and its job queue."""

from .client import EngineClient, JobState, live_threads

__all__ = ["EngineClient", "JobState", "live_threads"]
