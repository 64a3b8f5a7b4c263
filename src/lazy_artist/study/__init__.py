"""The Lazy Artist study: the task graph (:mod:`~lazy_artist.study.tasks`) the generic builder
(:mod:`lazy_artist.builder`) runs, its parameter checks and its hooks."""

from lazy_artist.study.tasks import STUDY_TASKS

__all__ = ["STUDY_TASKS"]
