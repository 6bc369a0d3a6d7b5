"""Every environment variable picseek reads, with its default, in one place (pydantic-settings).

Read fresh on each call, so a variable set after start-up (or by a test) is seen. Command-line options win over
these; these win over the defaults.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_LLM_MODEL = "gpt-4o-mini"


class Settings(BaseSettings):
    # only the variables named below (never a bare HOME or LLM_MODEL); an empty one counts as unset
    model_config = SettingsConfigDict(extra="ignore", env_ignore_empty=True)

    home: Path | None = Field(None, alias="PICSEEK_HOME", description="where indexes, caches and logs live")
    chroma_url: str | None = Field(None, alias="PICSEEK_CHROMA_URL", description="a Chroma server instead of files")
    llm_model: str | None = Field(
        None, alias="PICSEEK_LLM_MODEL", description=f"LLM planner's model ({DEFAULT_LLM_MODEL})"
    )
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL", description="OpenAI-compatible endpoint")
    openai_api_key: str | None = Field(None, alias="OPENAI_API_KEY", description="key for that endpoint")
    llm_api_key: str | None = Field(
        None, alias="PICSEEK_LLM_API_KEY", description="key for an endpoint given by --llm-base-url"
    )
    ui_auth: str | None = Field(
        None, alias="PICSEEK_UI_AUTH", description="USER:PASSWORD for `picseek ui` (required off loopback)"
    )

    def llm_configured(self) -> bool:
        """Whether the environment asks for the LLM planner: only picseek's own PICSEEK_LLM_MODEL does. The generic
        OPENAI_API_KEY / OPENAI_BASE_URL, often exported for another program, only say how to reach an endpoint
        once the planner was asked for: a key alone must not send a library's captions out."""
        return bool(self.llm_model)


def settings() -> Settings:
    return Settings()
