"""Bounds shared by the readers of YAML (model files) and JSON (Open WebUI exports), kept apart
from both so that either can be imported without the other's parser."""

MAX_DEPTH = 100  # nested collections; everything that walks a value later recurses
