"""Reproduce the study in ../shared/study.md: ``python -m minicnn.experiments --help``."""
