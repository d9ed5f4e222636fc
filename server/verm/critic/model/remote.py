"""The ``remote`` critic: a Visual-ERM model behind an OpenAI-compatible server (``vllm serve``).

Both pictures go as base64 PNG ``data:`` URLs, reference first; the answer is constrained to the
domain's JSON schema where the server allows it, and streamed so each finding shows at once.
"""

from __future__ import annotations

from verm.critic.analytic import AnalyticCritic
from verm.critic.model.judge import (
    Cancelled,
    ModelCancelled,
    ModelJudge,
    ModelUnavailable,
    OnText,
)
from verm.critic.model.openai import Cancelled as RemoteCancelled
from verm.critic.model.openai import ChatClient, EndpointConfig, RemoteError
from verm.critic.model.prompts import openai_messages, output_schema
from verm.critic.model.settings import ModelSettings, ModelSettingsError


def endpoint_config(settings: ModelSettings, urls: tuple[str, ...], model: str | None
                    ) -> EndpointConfig:
    return EndpointConfig(urls=urls, model=model, api_key_env=settings.api_key_env,
                          timeout_s=settings.remote_timeout_s, retries=settings.remote_retries,
                          concurrency=settings.remote_concurrency)


class RemoteCritic(ModelJudge):
    name = "remote"

    def __init__(self, settings: ModelSettings | None = None,
                 analytic: AnalyticCritic | None = None) -> None:
        super().__init__(settings, analytic)
        if not self.settings.endpoints:
            raise ModelSettingsError(
                "the remote critic needs a server: pass --endpoint http://HOST:PORT/v1, or set "
                "`endpoint = \"...\"` in ~/.config/verm/config.toml (or verm.endpoint in your "
                "editor)")
        self.client = ChatClient(endpoint_config(self.settings, self.settings.endpoints,
                                                 self.settings.model_name))

    def generate(self, domain: str, prompt: str, reference_png: bytes, render_png: bytes,
                 on_text: OnText, cancelled: Cancelled | None) -> str:
        s = self.settings
        try:
            done = self.client.complete(
                openai_messages(prompt, reference_png, render_png),
                schema=output_schema(domain), schema_name=f"{domain}_judgement",
                max_tokens=s.max_new_tokens, temperature=s.temperature, top_p=s.top_p,
                top_k=s.top_k, stream=s.stream, on_text=on_text, cancelled=cancelled)
        except RemoteCancelled as exc:
            raise ModelCancelled(str(exc)) from exc
        except RemoteError as exc:
            raise ModelUnavailable(str(exc)) from exc
        if not s.stream:
            on_text(done.text)
        return done.text
