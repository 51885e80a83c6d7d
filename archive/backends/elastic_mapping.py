"""The Elasticsearch index body as data: mappings/passages.json with the embedder's id and dims filled
in, and the vector index options of mappings/vector-<name>.json when ARCHIVE_ES_VECTOR_INDEX asks for
another than passages.json's own (hnsw)."""

from __future__ import annotations

import json
from pathlib import Path

from archive.backends.base import SCHEMA_VERSION

MAPPING_PATH = Path(__file__).resolve().parents[2] / "mappings" / "passages.json"
DEFAULT_VECTOR_INDEX = "hnsw"  # the index_options passages.json itself carries


def vector_overlay_path(vector_index: str) -> Path:
    """The file in mappings/ whose vector index options replace passages.json's (ARCHIVE_ES_VECTOR_INDEX)."""
    return MAPPING_PATH.with_name(f"vector-{vector_index}.json")


def load_mapping(dim: int, model_id: str, vector_index: str = DEFAULT_VECTOR_INDEX) -> dict:
    """The index body from mappings/passages.json with the embedder's facts filled in, and the vector
    index options of mappings/vector-<vector_index>.json unless it is passages.json's own (hnsw)."""
    body = json.loads(MAPPING_PATH.read_text(encoding="utf-8"))
    body["mappings"]["_meta"].update(schema_version=SCHEMA_VERSION, model_id=model_id, dim=dim)
    vector = body["mappings"]["properties"]["vector"]
    vector["dims"] = dim
    if vector_index != DEFAULT_VECTOR_INDEX:
        overlay = json.loads(vector_overlay_path(vector_index).read_text(encoding="utf-8"))
        vector["index_options"] = overlay["index_options"]
    return body
