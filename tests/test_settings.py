"""Settings come only from the variables picseek names, with their defaults when unset or empty."""

from __future__ import annotations

import pytest
from picseek.tools.home import home
from picseek.tools.settings import settings

pytestmark = pytest.mark.unit


def test_unset_or_empty_home_means_the_platform_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("PICSEEK_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))  # a bare HOME is not picseek's home
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert settings().home is None and home() == tmp_path / "data" / "picseek"
    monkeypatch.setenv("PICSEEK_HOME", "")
    assert settings().home is None and home() == tmp_path / "data" / "picseek"
    monkeypatch.setenv("PICSEEK_HOME", str(tmp_path / "state"))
    assert home() == tmp_path / "state"


def test_only_the_named_variables_are_read(monkeypatch):
    for name in ("PICSEEK_LLM_MODEL", "OPENAI_BASE_URL", "OPENAI_API_KEY", "PICSEEK_CHROMA_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LLM_MODEL", "x")
    monkeypatch.setenv("CHROMA_URL", "http://elsewhere")
    s = settings()
    assert s.llm_model is None and s.chroma_url is None and not s.llm_configured()
    monkeypatch.setenv("PICSEEK_LLM_MODEL", "m")
    monkeypatch.setenv("PICSEEK_CHROMA_URL", "http://127.0.0.1:8000")
    s = settings()
    assert s.llm_configured() and s.llm_model == "m" and s.chroma_url == "http://127.0.0.1:8000"


def test_a_key_or_an_endpoint_alone_does_not_choose_the_llm(monkeypatch):
    """Issue 23: an OPENAI_API_KEY exported for another program must not send a library out."""
    monkeypatch.delenv("PICSEEK_LLM_MODEL", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-elsewhere")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.example.com/v1")
    s = settings()
    assert not s.llm_configured() and s.openai_api_key == "sk-elsewhere"  # still the connection, once asked for
    monkeypatch.setenv("PICSEEK_LLM_MODEL", "m")
    assert settings().llm_configured()


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]:7860", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("localhost:8000", True),
        ("http://127.0.0.1:11434/v1", True),
        ("http://[::1]:8080/v1", True),
        ("http://localhost/v1", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("localhost.example.com", False),
        ("http://127.0.0.1.nip.io/v1", False),
        ("https://api.openai.com/v1", False),
        ("", False),
        (None, False),
    ],
)
def test_loopback_is_decided_from_the_address_alone(address, loopback):
    from picseek.tools.network import is_loopback

    assert is_loopback(address) is loopback


def test_the_english_pipeline_is_checked_against_the_verified_release(monkeypatch, tmp_path):
    from picseek.agent import pipeline_check as pc

    name = next(iter(pc.PINNED))
    got = pc.package_digest(name)
    if got is None:
        pytest.skip(f"{name} is not installed")
    assert got == pc.PINNED[name]  # the installed files are the release picseek verified
    pc.check_english_pipeline.cache_clear()
    monkeypatch.setitem(pc.PINNED, name, (got[0], "0" * 64))  # as if the upload had changed
    with pytest.raises(pc.PipelineChanged, match="differ from the release picseek verified.*require-hashes"):
        pc.check_english_pipeline()
    pc.check_english_pipeline.cache_clear()
    monkeypatch.setitem(pc.PINNED, name, ("9.9.9", got[1]))
    with pytest.raises(pc.PipelineChanged, match="only 9.9.9"):
        pc.check_english_pipeline()
    pc.check_english_pipeline.cache_clear()
    monkeypatch.setitem(pc.PINNED, "not-installed-pipeline", ("1.0", "0" * 64))
    monkeypatch.delitem(pc.PINNED, name)
    pc.check_english_pipeline()  # nothing installed to check: nothing to refuse
    pc.check_english_pipeline.cache_clear()


@pytest.mark.unit
def test_the_openai_key_never_goes_to_another_server(monkeypatch):
    """OPENAI_API_KEY reaches OpenAI's API or the OPENAI_BASE_URL it was exported with, never a third-party
    --llm-base-url, which gets PICSEEK_LLM_API_KEY instead."""
    from picseek.agent.llm import LLMPlanner

    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://10.0.0.5:8000/v1")

    def key(**kw) -> str:
        return LLMPlanner(model="m", **kw).chat.openai_api_key.get_secret_value()

    assert key() == "sk-secret"
    assert key(base_url="http://10.0.0.5:8000/v1") == "sk-secret"
    assert key(base_url="https://api.openai.com/v1") == "sk-secret"
    assert key(base_url="http://203.0.113.9:8000/v1") != "sk-secret"
    monkeypatch.setenv("PICSEEK_LLM_API_KEY", "local-key")
    assert key(base_url="http://203.0.113.9:8000/v1") == "local-key"
