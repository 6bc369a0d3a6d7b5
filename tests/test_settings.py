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
