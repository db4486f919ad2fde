"""The file formats: model definitions, conversations and `modelops.yaml`, their JSON Schemas,
the Ollama parameter catalogue and name grammar, YAML reading (with positions) and round-trip
editing, and every check of a file. Pure: callers read the bytes."""
