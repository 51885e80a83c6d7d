"""ARCHIVE_ES_VECTOR_INDEX: which mapping file gives a new index its vector options (no node needed)."""

import json
from pathlib import Path

import pytest

from archive.backends import make_backend
from archive.backends.elastic import MAPPING_PATH, load_mapping
from archive.config import ConfigError, load_config

MAPPINGS = Path(__file__).parents[2] / "mappings"


@pytest.mark.parametrize("env, options", [
    ({}, {"type": "hnsw", "m": 16, "ef_construction": 100}),
    ({"ARCHIVE_ES_VECTOR_INDEX": "hnsw"}, {"type": "hnsw", "m": 16, "ef_construction": 100}),
    ({"ARCHIVE_ES_VECTOR_INDEX": "flat"}, {"type": "flat"}),
])
def test_the_setting_picks_the_vector_options_of_a_new_index(env, options):
    config = load_config({"ARCHIVE_BACKEND": "elasticsearch", **env})
    backend = make_backend(config, 8, "hash:8")  # lazy: nothing connects
    body = backend._index_body()
    vector = body["mappings"]["properties"]["vector"]
    assert vector["index_options"] == options
    assert (vector["dims"], vector["similarity"], body["mappings"]["_meta"]["model_id"]) == (8, "cosine", "hash:8")
    # Everything but the vector options is passages.json's, whichever the setting.
    base = load_mapping(8, "hash:8")
    base["mappings"]["properties"]["vector"].pop("index_options")
    vector.pop("index_options")
    assert body == base


@pytest.mark.parametrize("value", ["HNSW", "ivf", "int8_hnsw", " flat"])
def test_other_values_stop_start_up_with_one_line(value):
    with pytest.raises(ConfigError) as info:
        load_config({"ARCHIVE_ES_VECTOR_INDEX": value})
    assert "ARCHIVE_ES_VECTOR_INDEX" in str(info.value) and "\n" not in str(info.value)


def test_every_overlay_file_is_a_choice_of_the_setting_and_only_carries_vector_options():
    overlays = sorted(p.name for p in MAPPINGS.glob("vector-*.json"))
    assert overlays == ["vector-flat.json"]
    for name in overlays:
        overlay = json.loads((MAPPINGS / name).read_text(encoding="utf-8"))
        assert set(overlay) == {"about", "index_options"}
        choice = name.removeprefix("vector-").removesuffix(".json")
        assert load_config({"ARCHIVE_ES_VECTOR_INDEX": choice}).es_vector_index == choice
    assert json.loads(MAPPING_PATH.read_text(encoding="utf-8"))["mappings"]["properties"]["vector"][
        "index_options"]["type"] == "hnsw"
