"""The remote critic's chat client against a stand-in server that misbehaves on cue."""

from __future__ import annotations

import json
import threading
import time

import pytest

from standin_openai import (
    Reply,
    StandinServer,
    completion,
    error,
    garbage,
    sse_reply,
    stall,
    stream,
    unused_url,
)
from verm.critic.model.openai import (
    Cancelled,
    ChatClient,
    EndpointConfig,
    RemoteError,
    base_url,
)

REFERENCE = "data:image/png;base64,UkVGRVJFTkNF"
RENDER = "data:image/png;base64,UkVOREVS"
SCHEMA = {"type": "object", "properties": {"errors": {"type": "array"}}, "required": ["errors"]}


def judge_messages() -> list[dict]:
    return [
        {"role": "system", "content": "You compare a ground truth image with a rendering."},
        {"role": "user", "content": [
            {"type": "text", "text": "Image 1 is the ground truth, Image 2 the rendered one."},
            {"type": "image_url", "image_url": {"url": REFERENCE}},
            {"type": "image_url", "image_url": {"url": RENDER}},
        ]},
    ]


def client(*urls: str, **settings) -> ChatClient:
    settings.setdefault("timeout_s", 2.0)
    return ChatClient(EndpointConfig(urls=urls, **settings))


def test_request_carries_both_images_in_order_the_model_and_the_schema():
    with StandinServer(model="visual-erm") as server:
        done = client(server.url).complete(judge_messages(), schema=SCHEMA, max_tokens=256,
                                           top_k=20, repetition_penalty=1.05)
        done2 = client(server.url, model="named").complete(judge_messages())
    assert [r.method for r in server.requests] == ["GET", "POST", "POST"]
    assert server.requests[0].path == "/v1/models"
    body = server.chats[0].body
    assert body["model"] == "visual-erm"
    images = [p["image_url"]["url"] for p in body["messages"][1]["content"]
              if p["type"] == "image_url"]
    assert images == [REFERENCE, RENDER]
    assert body["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "judgement", "schema": SCHEMA}}
    assert (body["max_tokens"], body["temperature"], body["top_k"],
            body["repetition_penalty"]) == (256, 0.0, 20, 1.05)
    assert "top_p" not in body and "stream" not in body
    assert done.text == '{"errors": []}' and done.used_schema and done.attempts == 1
    assert done.finish_reason == "stop" and done.url == server.url
    second = server.chats[1].body
    assert second["model"] == "named"
    assert not {"response_format", "top_k", "repetition_penalty"} & set(second)
    assert not done2.used_schema


def test_stream_hands_over_each_delta_before_the_server_has_sent_the_last():
    deltas = ['{"errors": ', "[", '{"category": "text_error"}', "]", "}"]
    seen: list[tuple[float, str]] = []
    with StandinServer([stream(deltas, delay_s=0.1)]) as server:
        done = client(server.url).complete(
            judge_messages(), stream=True, on_text=lambda t: seen.append((time.monotonic(), t)))
    assert server.chats[0].body["stream"] is True
    assert [t for _, t in seen] == deltas
    assert done.text == "".join(deltas) and done.finish_reason == "stop"
    last_delta_sent = max(at for at, piece in server.sent if b'"content": "}"' in piece)
    assert seen[0][0] < last_delta_sent


def test_stream_survives_crlf_keepalives_split_reads_and_no_done():
    deltas = ["héllo ", "wörld", " ✓"]
    reply = stream(deltas, crlf=True, split=3, keepalive=True, done=False, finish_reason=None)
    seen: list[str] = []
    with StandinServer([reply]) as server:
        done = client(server.url).complete(judge_messages(), stream=True, on_text=seen.append)
    assert seen == deltas
    assert done.text == "héllo wörld ✓" and done.finish_reason is None


def test_a_server_that_ignores_stream_true_still_answers():
    seen: list[str] = []
    with StandinServer([completion("whole")]) as server:
        done = client(server.url).complete(judge_messages(), stream=True, on_text=seen.append)
    assert seen == ["whole"] and done.text == "whole"


def test_500_is_retried_then_succeeds():
    with StandinServer([error(500, "engine died"), completion("ok")]) as server:
        done = client(server.url).complete(judge_messages())
    assert done.text == "ok" and done.attempts == 2
    assert len(server.chats) == 2


def test_500_every_time_gives_up_with_the_url_status_and_body():
    with (
        StandinServer([error(503, "engine overloaded")] * 3) as server,
        pytest.raises(RemoteError) as caught,
    ):
        client(server.url, retries=1).complete(judge_messages())
    message = str(caught.value)
    assert server.url in message and "503" in message and "engine overloaded" in message
    assert "2 attempt" in message and caught.value.status == 503


def test_429_waits_for_retry_after():
    with StandinServer([error(429, "busy", retry_after="1"), completion("ok")]) as server:
        done = client(server.url).complete(judge_messages())
    assert done.text == "ok"
    assert server.chats[1].at - server.chats[0].at >= 0.95


def test_a_retry_after_beyond_the_deadline_fails_at_once_saying_why():
    # Waiting would take the whole 25 s deadline: "at once" is far below it on any machine.
    with StandinServer([error(429, "busy", retry_after="3600")]) as server:
        started = time.monotonic()
        with pytest.raises(RemoteError, match=r"429.*no time left to wait 30.0 s"):
            client(server.url, timeout_s=1, deadline_s=25).complete(judge_messages())
    assert time.monotonic() - started < 12 and len(server.chats) == 1


def test_client_errors_are_not_retried():
    with (
        StandinServer([error(404, "The model `x` does not exist.")]) as server,
        pytest.raises(RemoteError, match=r"does not exist.*model name"),
    ):
        client(server.url, model="x").complete(judge_messages())
    assert len(server.chats) == 1


def test_a_server_silent_before_answering_times_out():
    # The server would stay silent 60 s: giving up after 0.4 s of silence is far below that.
    with StandinServer([stall(60)]) as server:
        started = time.monotonic()
        with pytest.raises(RemoteError, match=r"sent nothing for 0.4 s"):
            client(server.url, timeout_s=0.4, retries=0).complete(judge_messages())
    assert time.monotonic() - started < 30


def test_a_stream_that_stalls_after_text_fails_once_without_repeating_text():
    reply = stream(["first", "second"], stall_after=2, stall_s=60)
    seen: list[str] = []
    with StandinServer([reply, stream(["again"])]) as server:
        started = time.monotonic()
        with pytest.raises(RemoteError, match=r"5 characters"):
            client(server.url, timeout_s=0.4).complete(judge_messages(), stream=True,
                                                       on_text=seen.append)
    assert time.monotonic() - started < 30  # not the 60 s stall
    assert seen == ["first"] and len(server.chats) == 1


def test_a_stream_that_stalls_before_text_is_retried():
    stalled = stream(["never"], stall_after=0, stall_s=5)
    with StandinServer([stalled, stream(["fine"])]) as server:
        done = client(server.url, timeout_s=0.4).complete(judge_messages(), stream=True)
    assert done.text == "fine" and done.attempts == 2


def test_round_robin_across_two_servers():
    with StandinServer() as one, StandinServer() as two:
        chat = client(one.url, two.url)
        urls = [chat.complete(judge_messages()).url for _ in range(4)]
    assert urls == [one.url, two.url, one.url, two.url]
    assert len(one.chats) == len(two.chats) == 2


def test_fail_over_when_one_url_is_down(monkeypatch: pytest.MonkeyPatch):
    down = unused_url()
    pauses: list[float | None] = []
    pause = ChatClient._pause

    def recorded(self, call, n, retry_after, error):  # type: ignore[no-untyped-def]
        pauses.append(retry_after)
        return pause(self, call, n, retry_after, error)

    monkeypatch.setattr(ChatClient, "_pause", recorded)
    with StandinServer() as server:
        chat = client(down, server.url, retries=1)
        answers = [chat.complete(judge_messages()) for _ in range(2)]
    assert pauses == []  # moving to another URL needs no backoff
    assert [a.url for a in answers] == [server.url, server.url]
    assert [a.attempts for a in answers] == [2, 1]


def test_no_server_at_all_says_so():
    with pytest.raises(RemoteError, match=r"connection refused.*2 attempt"):
        client(unused_url(), retries=1).complete(judge_messages())


def test_refused_response_format_is_dropped_and_remembered():
    refusal = error(400, "response_format json_schema is not supported by this server")
    with StandinServer([refusal]) as server:
        chat = client(server.url)
        first = chat.complete(judge_messages(), schema=SCHEMA)
        second = chat.complete(judge_messages(), schema=SCHEMA)
    sent = ["response_format" in r.body for r in server.chats]
    assert sent == [True, False, False]
    assert not first.used_schema and not second.used_schema
    assert first.text == '{"errors": []}'


def test_other_400s_keep_their_message():
    with (
        StandinServer([error(400, "max_tokens is too large", vllm_style=False)]) as server,
        pytest.raises(RemoteError, match=r"HTTP 400.*max_tokens is too large"),
    ):
        client(server.url).complete(judge_messages(), schema=SCHEMA)
    assert len(server.chats) == 1


def test_api_key_comes_from_the_named_variable(monkeypatch):
    monkeypatch.setenv("VERM_TEST_KEY", "sk-secret-123")
    with StandinServer([error(401, "bad key")]) as server:
        chat = client(server.url, api_key_env="VERM_TEST_KEY")
        with pytest.raises(RemoteError) as caught:
            chat.complete(judge_messages())
        chat.complete(judge_messages())
    assert server.chats[0].headers["authorization"] == "Bearer sk-secret-123"
    assert "sk-secret" not in str(caught.value) and "API key" in str(caught.value)


def test_a_missing_key_variable_is_named_and_nothing_is_sent(monkeypatch):
    monkeypatch.delenv("VERM_ABSENT_KEY", raising=False)
    with StandinServer() as server, pytest.raises(RemoteError, match=r"VERM_ABSENT_KEY"):
        client(server.url, api_key_env="VERM_ABSENT_KEY").complete(judge_messages())
    assert server.requests == []


@pytest.mark.parametrize("reply", [
    garbage("<html><body>502 Bad Gateway from the proxy</body></html>"),
    Reply(body=json.dumps({"object": "list", "data": []}).encode()),
])
def test_garbage_bodies_are_reported_with_an_excerpt(reply):
    with StandinServer([reply]) as server, pytest.raises(RemoteError) as caught:
        client(server.url).complete(judge_messages())
    message = str(caught.value)
    assert server.url in message and ("Bad Gateway" in message or "choices" in message)


def test_garbage_in_the_stream_is_reported():
    with (
        StandinServer([sse_reply(["this is not json"])]) as server,
        pytest.raises(RemoteError, match=r"not JSON.*this is not json"),
    ):
        client(server.url).complete(judge_messages(), stream=True)


def test_an_error_event_in_the_stream_is_raised_with_its_message():
    events = [json.dumps({"error": {"message": "prompt too long for context", "code": 400}})]
    with (
        StandinServer([sse_reply(events)]) as server,
        pytest.raises(RemoteError, match=r"prompt too long for context"),
    ):
        client(server.url).complete(judge_messages(), stream=True)
    assert len(server.chats) == 1


def test_cancel_mid_stream_stops_promptly():
    cancel = threading.Event()
    seen: list[str] = []

    def on_text(text: str) -> None:
        seen.append(text)
        cancel.set()

    with StandinServer([stream(["a", "b", "c", "d"], delay_s=4)]) as server:
        with pytest.raises(Cancelled):
            client(server.url, timeout_s=60).complete(judge_messages(), stream=True,
                                                      on_text=on_text, cancelled=cancel.is_set)
        gave_up = time.monotonic()
    cancelled_at = max(at for at, piece in server.sent if b'"content": "a"' in piece)
    assert gave_up - cancelled_at < 3  # the next delta was 4 s away
    assert seen == ["a"]


def test_cancel_while_the_server_is_silent_or_between_attempts():
    cancel = threading.Event()
    # Silent for 60 s, or asking for 25 s between attempts: a cancel ends the wait far sooner.
    with StandinServer([stall(60)]) as server:
        threading.Timer(0.2, cancel.set).start()
        started = time.monotonic()
        with pytest.raises(Cancelled):
            client(server.url, timeout_s=120).complete(judge_messages(), cancelled=cancel.is_set)
        assert time.monotonic() - started < 15
    cancel = threading.Event()
    with StandinServer([error(503, "busy", retry_after="25")]) as server:
        threading.Timer(0.2, cancel.set).start()
        started = time.monotonic()
        with pytest.raises(Cancelled):
            client(server.url, timeout_s=120).complete(judge_messages(), cancelled=cancel.is_set)
        assert time.monotonic() - started < 15


def test_concurrency_bounds_requests_in_flight_across_threads():
    with StandinServer(lambda _: stream(["x"], delay_s=0.05)) as server:
        chat = client(server.url, concurrency=2)
        threads = [threading.Thread(target=chat.complete, args=(judge_messages(),),
                                    kwargs={"stream": True}) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(server.chats) == 6 and server.max_in_flight == 2


def test_base_urls_are_normalised_and_only_http_is_taken():
    assert base_url("http://gpu-box:8000") == "http://gpu-box:8000/v1"
    assert base_url("http://gpu-box:8000/v1/") == "http://gpu-box:8000/v1"
    assert base_url("https://h/proxy/v1/chat/completions") == "https://h/proxy/v1"
    for bad in ("ftp://gpu-box/v1", "gpu-box:8000", "file:///etc/passwd",
                "http://user:pw@gpu-box/v1"):
        with pytest.raises(RemoteError):
            base_url(bad)
