"""Conversions to and from what other tools read and write: Open WebUI's model JSON (every
version of it), Ollama Modelfiles, avatars as data URIs. Pure."""
