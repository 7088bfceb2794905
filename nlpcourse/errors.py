"""Exceptions the course raises for people: one clear message, no deep library traceback."""

from __future__ import annotations


class CourseError(RuntimeError):
    """Base class for errors whose message tells the reader what to do next."""


class ProfileError(CourseError, ValueError):
    """An unknown or inconsistent profile was asked for."""


class LanguageError(CourseError, ValueError):
    """``NLPCOURSE_LANG`` names a language the course does not speak."""


class DataUnavailableError(CourseError):
    """A dataset could be found neither locally nor on the hub."""


class DataFileError(CourseError, ValueError):
    """A local data file exists but is malformed (columns, labels, emptiness)."""


class CheckpointUnavailableError(CourseError):
    """A pretrained checkpoint could be found neither in the hub cache nor on the hub."""
