"""The ``model`` critic: a Visual-ERM checkpoint on this machine, in a worker process.

The worker (``verm.critic.model.worker``) starts on the first judgement, loads the model once
for every document, unloads after ``idle-unload`` seconds unused, and is started again when it
died; torch never enters this process.
"""

from __future__ import annotations

from verm.critic.analytic import AnalyticCritic
from verm.critic.model.client import Cancelled as WorkerCancelled
from verm.critic.model.client import ModelWorker, OnStatus, WorkerError
from verm.critic.model.judge import (
    Cancelled,
    ModelCancelled,
    ModelJudge,
    ModelUnavailable,
    OnText,
)
from verm.critic.model.prompts import chat_messages
from verm.critic.model.settings import ModelSettings


class ModelCritic(ModelJudge):
    name = "model"

    def __init__(self, settings: ModelSettings | None = None,
                 analytic: AnalyticCritic | None = None,
                 on_status: OnStatus | None = None) -> None:
        super().__init__(settings, analytic)
        self.worker = ModelWorker(self.settings.spec(), idle_s=self.settings.idle_unload_s)
        if on_status is not None:
            self.worker.listeners.append(on_status)

    def generate(self, domain: str, prompt: str, reference_png: bytes, render_png: bytes,
                 on_text: OnText, cancelled: Cancelled | None) -> str:
        try:
            done = self.worker.generate(chat_messages(domain, prompt), [reference_png, render_png],
                                        self.settings.sampling(), on_text=on_text,
                                        cancelled=cancelled)
        except WorkerCancelled as exc:
            raise ModelCancelled(str(exc)) from exc
        except WorkerError as exc:
            raise ModelUnavailable(str(exc)) from exc
        return str(done.get("text", ""))

    def close(self) -> None:
        self.worker.close()
