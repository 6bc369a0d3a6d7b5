"""A simulated user played by an OpenAI-compatible chat model that reads the target's reference captions, as
ChatIR and PlugIR simulate users on COCO / VisDial. It answers the agent's question, or volunteers one detail."""

from __future__ import annotations

from picseek.tools.settings import DEFAULT_LLM_MODEL, settings

ANSWER = """You are helping a search assistant find one photo you have in mind. You know the photo only from
these descriptions of it:
{captions}
Answer the assistant's question in a few plain words, as a person would. If options are given, answer with the
option that is true; if none is true say "none of these" and the truth. If the descriptions cannot answer it,
say "I don't know". Never describe anything the descriptions do not say."""
VOLUNTEER = """You are helping a search assistant find one photo you have in mind. You know the photo only from
these descriptions of it:
{captions}
So far you said: {said}
Add ONE more true detail about the photo that you have not said yet, in a few plain words. If there is nothing
left to add, answer "nothing"."""


class LLMUser:
    def __init__(self, model: str | None = None, base_url: str | None = None, api_key: str | None = None):
        from openai import OpenAI

        env = settings()
        self.model = model or env.llm_model or DEFAULT_LLM_MODEL
        self.client = OpenAI(
            base_url=base_url or env.openai_base_url,
            api_key=api_key or env.openai_api_key or "not-needed",
            timeout=30,
            max_retries=2,
        )
        self.said: list[str] = []

    def start(self, target) -> None:
        self.said = [target.description]

    def _ask(self, system: str, user: str) -> str:
        r = self.client.chat.completions.create(
            model=self.model,
            temperature=0,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
        )
        return " ".join((r.choices[0].message.content or "").split())[:300]

    def _captions(self, target) -> str:
        if not target.captions:
            raise ValueError(f"target {target.id} has no reference captions: the llm answerer needs them")
        return "\n".join(f"- {c}" for c in target.captions[:5])

    def answer(self, target, q) -> str:
        options = f" Options: {', '.join(q.options)}." if q.options else ""
        out = self._ask(ANSWER.format(captions=self._captions(target)), f"Question: {q.text}{options}")
        self.said.append(out)
        return out

    def volunteer(self, target) -> str | None:
        out = self._ask(VOLUNTEER.format(captions=self._captions(target), said="; ".join(self.said)), "Your detail:")
        if out.lower().strip(" .") == "nothing":
            return None
        self.said.append(out)
        return out
