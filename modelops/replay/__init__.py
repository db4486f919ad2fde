"""Replaying conversations against models: files, providers, runner, reports."""
