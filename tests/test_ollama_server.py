"""Tests of the Ollama test server, through the real `ollama` client and raw httpx."""

import base64
import calendar
import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import ollama
import pytest

from tests.ollama_server import OllamaServer
from tests.ollama_server_gofmt import go_float, go_json, go_quote, rfc3339_nano
from tests.ollama_server_names import ModelName
from tests.ollama_server_show import parse_parameters

LLAMA_STOP = ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
PNG_1PX = base64.b64encode(b"\x89PNG\r\n\x1a\n fake image bytes").decode()


@pytest.fixture
def server() -> Iterator[OllamaServer]:
    running = OllamaServer()
    with running:
        yield running
    assert running.errors == [], running.errors[0]  # no bug of the server itself


@pytest.fixture
def client(server: OllamaServer) -> Iterator[ollama.Client]:
    with ollama.Client(host=server.url, timeout=10) as connected:
        yield connected


@pytest.fixture
def http(server: OllamaServer) -> Iterator[httpx.Client]:
    """Raw HTTP to the server (one client: building an httpx client costs ~30 ms)."""
    with httpx.Client(base_url=server.url, timeout=10) as connected:
        yield connected


def show(http: httpx.Client, model: str) -> dict[str, Any]:
    response = http.post("/api/show", json={"model": model})
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def statuses(progress: Iterator[ollama.ProgressResponse]) -> list[str]:
    return [line.status or "" for line in progress]


# ---- basics ----------------------------------------------------------------------------


def test_root_version_and_transport_errors(server: OllamaServer, http: httpx.Client) -> None:
    root = http.get("/")
    assert (root.status_code, root.text) == (200, "Ollama is running")
    assert http.head("/").status_code == 200
    version = http.get("/api/version")
    assert version.json() == {"version": "0.12.6"}
    assert version.headers["content-type"] == "application/json; charset=utf-8"
    server.version = "0.5.4"
    assert http.get("/api/version").json() == {"version": "0.5.4"}

    unknown = http.get("/api/nope")
    assert (unknown.status_code, unknown.text) == (404, "404 page not found")
    assert http.get("/api/pull").status_code == 405
    empty = http.post("/api/show", content=b"")
    assert (empty.status_code, empty.json()) == (400, {"error": "missing request body"})
    broken = http.post("/api/show", content=b"{nope")
    assert broken.status_code == 400
    assert broken.json()["error"].startswith("invalid character 'n'")
    wrong_type = http.post("/api/show", json={"model": 5})
    assert wrong_type.json() == {
        "error": "json: cannot unmarshal number into Go struct field api.ShowRequest.model "
        "of type string"
    }


def test_model_name_grammar() -> None:
    cases = {
        "llama3.2": "llama3.2:latest",
        "registry.ollama.ai/library/llama3.2:latest": "llama3.2:latest",
        "myns/foo": "myns/foo:latest",
        "hf.co/u/r:Q8_0": "hf.co/u/r:Q8_0",
        "https://hf.co/u/r": "hf.co/u/r:latest",
        "localhost:5000/ns/m:v1": "localhost:5000/ns/m:v1",
    }
    for text, display in cases.items():
        name = ModelName.parse(text)
        assert name.is_valid, text
        assert name.display == display
    assert ModelName.parse("LLaMA3.2").key == ModelName.parse("llama3.2:latest").key
    for bad in ["", "a:", ":tag", "ns.x/m", "m@sha256:abc", "a/b/c/d", "-m", "m" * 81, "é"]:
        assert not ModelName.parse(bad).is_valid, bad


def test_invalid_names_are_rejected_with_400(server: OllamaServer, client: ollama.Client) -> None:
    for call in (
        lambda: client.pull("bad name!"),
        lambda: client.create("a/b/c/d", from_="llama3.2"),
        lambda: client.show("m@sha256:abc"),
    ):
        with pytest.raises(ollama.ResponseError) as caught:
            call()
        assert (caught.value.status_code, caught.value.error) == (400, "invalid model name")
    with pytest.raises(ollama.ResponseError) as caught:
        client.delete("x/y/z/w")
    assert caught.value.error == 'name "x/y/z/w" is invalid'
    with pytest.raises(ollama.ResponseError) as caught:
        client.copy("llama3.2", "bad name")
    assert caught.value.error == 'destination "bad name" is invalid'
    assert server.local_names() == []


def test_go_formatting() -> None:
    assert [go_float(v) for v in (0.2, 1.0, 4096, -1, 1234567, 1048576, 0.00001, 0.0001)] == [
        "0.2",
        "1",
        "4096",
        "-1",
        "1.234567e+06",
        "1.048576e+06",
        "1e-05",
        "0.0001",
    ]
    assert go_float(123456.7) == "123456.7"
    assert go_quote("line\nbreak") == '"line\\nbreak"'
    assert go_quote('tab\there "q"') == '"tab\\there \\"q\\""'
    assert go_quote("café\x01") == '"café\\x01"'
    assert go_json({"b": 1.0, "a": [0.2, 1e-7, 1e21], "c": "<x>"}, sort_keys=True) == (
        '{"a":[0.2,1e-7,1e+21],"b":1,"c":"\\u003cx\\u003e"}'
    )
    assert rfc3339_nano(1_700_000_000_120_000_000) == "2023-11-14T22:13:20.12Z"
    assert rfc3339_nano(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"


# ---- pull ------------------------------------------------------------------------------


def test_pull_progress_lines(
    server: OllamaServer, client: ollama.Client, http: httpx.Client
) -> None:
    lines = list(client.pull("llama3.2", stream=True))
    assert lines[0].status == "pulling manifest" and lines[0].digest is None
    assert [line.status for line in lines[-3:]] == [
        "verifying sha256 digest",
        "writing manifest",
        "success",
    ]
    by_digest: dict[str, list[ollama.ProgressResponse]] = {}
    for line in lines[1:-3]:
        assert line.digest is not None
        assert line.status == f"pulling {line.digest[7:19]}"
        by_digest.setdefault(line.digest, []).append(line)
    assert len(by_digest) == 6  # weights, template, two licences, params, config
    weights = next(iter(by_digest.values()))
    assert len(weights) > 2
    assert weights[0].completed is None  # left out while 0
    assert [line.completed for line in weights[1:]] == sorted(
        line.completed or 0 for line in weights[1:]
    )
    for layer_lines in by_digest.values():
        assert layer_lines[-1].completed == layer_lines[-1].total

    raw = http.post("/api/pull", json={"model": "mistral"})
    assert raw.headers["content-type"] == "application/x-ndjson"
    assert raw.headers["transfer-encoding"] == "chunked"
    assert '"completed"' not in raw.text.splitlines()[1]

    again = list(client.pull("llama3.2", stream=True))
    layer_lines = [line for line in again if line.digest]
    assert len(layer_lines) == 6  # blobs on disk finish in one line each
    assert all(line.completed == line.total for line in layer_lines)


def test_pull_non_streaming_and_listing(
    server: OllamaServer, client: ollama.Client, http: httpx.Client
) -> None:
    assert client.pull("llama3.2", stream=False).status == "success"
    assert client.pull("llama3.2:3b").status == "success"
    listed = {model.model: model for model in client.list().models}
    assert set(listed) == {"llama3.2:latest", "llama3.2:3b"}
    latest = listed["llama3.2:latest"]
    assert latest.digest == listed["llama3.2:3b"].digest  # one manifest, two tags
    assert latest.details is not None and latest.details.parent_model == ""
    assert latest.details.quantization_level == "Q4_K_M"
    raw = http.get("/api/tags").json()["models"][0]
    assert raw["name"] == raw["model"] == "llama3.2:3b"  # newest first
    assert RFC3339_NANO.match(raw["modified_at"])
    assert re.fullmatch(r"[0-9a-f]{64}", raw["digest"])


def test_pull_errors(server: OllamaServer, client: ollama.Client) -> None:
    progress = client.pull("nope", stream=True)
    assert next(progress).status == "pulling manifest"
    with pytest.raises(ollama.ResponseError) as caught:
        next(progress)
    assert caught.value.status_code == -1
    assert caught.value.error == "pull model manifest: file does not exist"
    with pytest.raises(ollama.ResponseError) as caught:
        client.pull("nope", stream=False)
    assert (caught.value.status_code, caught.value.error) == (
        500,
        "pull model manifest: file does not exist",
    )
    with pytest.raises(ollama.ResponseError) as caught:
        list(client.pull("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q9_X", stream=True))
    assert caught.value.error == (
        "pull model manifest: 400: The specified tag is not available in the repository. "
        'Please use another tag or "latest"'
    )
    assert server.local_names() == []


def test_pull_hugging_face_tags(server: OllamaServer, client: ollama.Client) -> None:
    client.pull("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M")
    client.pull("hf.co/bartowski/llama-3.2-1b-instruct-gguf:q4_k_m")  # HF tags ignore case
    client.pull("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF")
    digests = {model.model: model.digest for model in client.list().models}
    assert set(digests) == {
        "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
        "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:latest",
    }
    assert len(set(digests.values())) == 1  # "latest" means Q4_K_M


def test_upstream_update_changes_the_digest(server: OllamaServer, client: ollama.Client) -> None:
    before = server.add_local("mistral")
    server.catalogue.update("mistral")
    lines = statuses(client.pull("mistral", stream=True))
    assert "removing unused layers" in lines
    assert server.digest("mistral") != before


def test_catalogue_is_extensible(
    server: OllamaServer, client: ollama.Client, http: httpx.Client
) -> None:
    server.catalogue.add(
        "acme/tiny:1b",
        family="qwen2",
        parameter_size="494M",
        size=397_807_936,
        system="You are tiny.",
        parameters={"temperature": 0.5, "num_ctx": 2048},
        license="Acme licence",
    )
    server.catalogue.add("registry.example.com/team/m:v1", aliases=["registry.example.com/team/m"])
    assert "acme/tiny:1b" in server.catalogue.names()
    client.pull("acme/tiny:1b")
    client.pull("registry.example.com/team/m")
    tiny = show(http, "acme/tiny:1b")
    assert (tiny["system"], tiny["license"]) == ("You are tiny.", "Acme licence")
    assert parse_parameters(tiny["parameters"]) == {"temperature": 0.5, "num_ctx": 2048}
    assert tiny["details"]["parameter_size"] == "494M"
    assert server.local_names() == ["registry.example.com/team/m:latest", "acme/tiny:1b"]

    with pytest.raises(ollama.ResponseError) as caught:
        client.pull("elsewhere.test/ns/m:v1")
    assert caught.value.error == (
        'pull model manifest: Get "https://elsewhere.test/v2/ns/m/manifests/v1": '
        "dial tcp: lookup elsewhere.test: no such host"
    )
    with pytest.raises(ollama.ResponseError) as caught:
        client.pull("http://registry.example.com/team/m:v1")
    assert (caught.value.status_code, caught.value.error) == (500, "insecure protocol http")
    server.catalogue.remove("acme/tiny:1b")
    with pytest.raises(ollama.ResponseError):
        client.pull("acme/tiny:1b")


# ---- create ----------------------------------------------------------------------------


def test_create_auto_pulls_its_base(server: OllamaServer, client: ollama.Client) -> None:
    lines = statuses(client.create("faq", from_="llama3.2", system="You are FAQ.", stream=True))
    assert lines[0] == "pulling manifest"
    assert lines.count("success") == 2
    pull_success = lines.index("success")
    assert lines[pull_success - 2 : pull_success] == ["verifying sha256 digest", "writing manifest"]
    create_part = lines[pull_success + 1 :]
    assert all(
        line.startswith(("using existing layer sha256:", "creating new layer sha256:"))
        for line in create_part[:-2]
    )
    assert create_part[-2:] == ["writing manifest", "success"]
    # Only the system prompt is new: the re-encoded params equal the base's params blob.
    assert sum(line.startswith("creating new layer") for line in create_part) == 1
    details = {m.model: m.details for m in client.list().models}
    assert details["faq:latest"] is not None and details["faq:latest"].parent_model == (
        "llama3.2:latest"
    )
    assert server.calls("/api/pull") == []  # the pull happened inside the server


def test_create_errors(server: OllamaServer, client: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError) as caught:
        client.create("faq", system="no base")
    assert (caught.value.status_code, caught.value.error) == (
        400,
        "neither 'from' or 'files' was specified",
    )
    progress = client.create("faq", from_="nope", stream=True)
    assert next(progress).status == "pulling manifest"
    with pytest.raises(ollama.ResponseError) as caught:
        next(progress)
    assert (caught.value.status_code, caught.value.error) == (
        -1,
        "pull model manifest: file does not exist",
    )
    with pytest.raises(ollama.ResponseError) as caught:
        client.create("faq", from_="nope", stream=False)
    assert caught.value.status_code == 500
    server.add_local("llama3.2")
    with pytest.raises(ollama.ResponseError) as caught:
        client.create("faq", from_="llama3.2", template="{{ .Prompt")
    assert caught.value.status_code == 400
    assert caught.value.error.startswith("template error: ")
    with pytest.raises(ollama.ResponseError) as caught:
        client.create("faq", from_="llama3.2", quantize="q4_K_M")
    assert (caught.value.status_code, caught.value.error) == (
        500,
        "quantization is only supported for F16, BF16 and F32 models",
    )
    assert server.local_names() == ["llama3.2:latest"]


def test_quantize_an_f16_model(
    server: OllamaServer, client: ollama.Client, http: httpx.Client
) -> None:
    lines = statuses(
        client.create("small-embed", from_="nomic-embed-text", quantize="q8_0", stream=True)
    )
    assert "quantizing F16 model to Q8_0" in lines
    assert show(http, "small-embed")["details"]["quantization_level"] == "Q8_0"


def test_old_server_versions(
    server: OllamaServer, client: ollama.Client, http: httpx.Client
) -> None:
    server.version = "0.12.5"  # streamed errors stay under 200 and carry a status
    response = http.post("/api/create", json={"model": "faq"})
    assert response.status_code == 200
    assert response.json() == {"error": "neither 'from' or 'files' was specified", "status": 400}

    server.version = "0.6.8"  # stream:false returned at the auto-pull's success (#10593)
    assert client.create("faq", from_="llama3.2", stream=False).status == "success"
    assert server.local_names() == ["llama3.2:latest"]

    server.version = "0.5.4"  # no JSON create at all
    with pytest.raises(ollama.ResponseError) as caught:
        client.create("faq", from_="llama3.2")
    assert (caught.value.status_code, caught.value.error) == (400, "path or Modelfile are required")


def test_parameters_merge_and_render_like_go(
    server: OllamaServer, client: ollama.Client, http: httpx.Client
) -> None:
    parameters = {
        "temperature": 0.2,
        "seed": 1234567,
        "num_ctx": 1048576,
        "top_p": 1.0,
        "min_p": 0.00001,
        "stop": ["<|eot_id|>", 'say "hi"\n'],
        "not_an_option": True,  # stored unchecked, as a real server does
    }
    client.create("faq", from_="llama3.2", parameters=parameters)
    text = show(http, "faq")["parameters"]
    assert parse_parameters(text) == {**parameters, "top_p": 1, "seed": 1234567.0}
    lines = text.splitlines()
    for expected in (
        "seed                           1.234567e+06",
        "num_ctx                        1.048576e+06",
        "top_p                          1",
        "min_p                          1e-05",
        'stop                           "say \\"hi\\"\\n"',
        "not_an_option                  true",
    ):
        assert expected in lines
    assert all(line[:30].rstrip() and line[30] == " " for line in lines)

    client.create("keeps-stop", from_="llama3.2", parameters={"temperature": 0.7})
    inherited = parse_parameters(show(http, "keeps-stop")["parameters"])
    assert inherited == {"temperature": 0.7, "stop": LLAMA_STOP}
    modelfile = show(http, "keeps-stop")["modelfile"]
    assert "PARAMETER temperature 0.7\n" in modelfile
    assert "PARAMETER stop <|eot_id|>\n" in modelfile


def test_show_parameter_order_is_random(
    server: OllamaServer, client: ollama.Client, http: httpx.Client
) -> None:
    keys = {"temperature": 0.1, "top_k": 10, "top_p": 0.5, "seed": 1, "num_ctx": 8, "min_p": 0.2}
    client.create("many", from_="llama3.2", parameters=keys)
    orders = set()
    for _ in range(20):
        lines = show(http, "many")["parameters"].splitlines()
        stop_at = [i for i, line in enumerate(lines) if line.startswith("stop ")]
        assert stop_at == list(range(stop_at[0], stop_at[0] + 3))  # a list stays together
        assert [lines[i].split(None, 1)[1] for i in stop_at] == [f'"{s}"' for s in LLAMA_STOP]
        orders.add(tuple(line.split()[0] for line in lines))
    assert len(orders) > 1


def test_show_fields_and_inheritance(
    server: OllamaServer, client: ollama.Client, http: httpx.Client
) -> None:
    client.create(
        "faq",
        from_="llama3.2",
        system="You are FAQ.",
        license="managed-by: modelops",
        messages=[
            {"role": "User", "content": "Is Toronto in Canada?"},
            {"role": "assistant", "content": "yes"},
        ],
    )
    base, derived = show(http, "llama3.2"), show(http, "faq")
    assert derived["system"] == "You are FAQ."
    assert derived["template"] == base["template"]
    assert derived["license"] == base["license"] + "\nmanaged-by: modelops"
    assert "\n**Llama 3.2** **Acceptable Use Policy**" in base["license"]  # 2nd licence layer
    assert derived["messages"] == [
        {"role": "user", "content": "Is Toronto in Canada?"},
        {"role": "assistant", "content": "yes"},
    ]
    assert derived["details"]["parent_model"] == "llama3.2:latest"
    assert base["details"]["parent_model"] == ""
    assert derived["model_info"]["general.architecture"] == "llama"
    assert derived["capabilities"] == ["completion", "tools"]
    assert RFC3339_NANO.match(derived["modified_at"])
    from_line = derived["modelfile"].splitlines()[4]
    assert from_line == base["modelfile"].splitlines()[4]
    assert re.fullmatch(r"FROM /root/\.ollama/models/blobs/sha256-[0-9a-f]{64}", from_line)
    assert "# FROM faq:latest\n" in derived["modelfile"]
    assert "SYSTEM You are FAQ.\n" in derived["modelfile"]
    assert "MESSAGE user Is Toronto in Canada?\n" in derived["modelfile"]

    typed = client.show("faq")  # the python client parses it, model_info included
    assert typed.modelinfo is not None and typed.details is not None
    assert typed.details.parent_model == "llama3.2:latest"
    assert http.post("/api/show", json={"name": "faq"}).status_code == 200

    server.add_local("qwen2.5-coder:7b")
    coder = show(http, "qwen2.5-coder:7b")
    assert "parameters" not in coder and "messages" not in coder  # omitempty
    assert coder["system"].startswith("You are Qwen")
    assert coder["capabilities"] == ["completion", "tools", "insert"]
    server.add_local("llava")
    llava = show(http, "llava")
    assert llava["capabilities"] == ["completion", "vision"]
    assert llava["projector_info"]["general.architecture"] == "clip"

    missing = http.post("/api/show", json={"model": "nope"})
    assert (missing.status_code, missing.json()) == (
        404,
        {"error": "model 'nope:latest' not found"},
    )


def test_digests_are_deterministic(
    server: OllamaServer, client: ollama.Client, http: httpx.Client
) -> None:
    first = server.add_local("faq", "llama3.2", system="S", parameters={"temperature": 1})
    modified = show(http, "faq")["modified_at"]
    again = statuses(
        client.create(
            "faq", from_="llama3.2", system="S", parameters={"temperature": 1.0}, stream=True
        )
    )
    assert server.digest("faq") == first
    assert show(http, "faq")["modified_at"] != modified
    assert all(not line.startswith("creating new layer") for line in again)

    client.create("faq", from_="llama3.2", system="S", parameters={"temperature": 0.9})
    assert server.digest("faq") != first
    client.copy("llama3.2", "my-llama")
    client.create("faq", from_="my-llama", system="S", parameters={"temperature": 1})
    assert server.digest("faq") != first  # same weights, different FROM name
    assert server.digest("my-llama") == server.digest("llama3.2")


def test_delete_and_copy(server: OllamaServer, client: ollama.Client, http: httpx.Client) -> None:
    server.add_local("faq", "llama3.2", system="S")
    copied = http.post("/api/copy", json={"source": "faq", "destination": "faq-backup"})
    assert (copied.status_code, copied.content) == (200, b"")
    assert server.digest("faq-backup") == server.digest("faq")
    missing = http.post("/api/copy", json={"source": "nope", "destination": "x"})
    assert (missing.status_code, missing.json()) == (404, {"error": 'model "nope" not found'})

    deleted = http.request("DELETE", "/api/delete", json={"model": "faq"})
    assert (deleted.status_code, deleted.content) == (200, b"")
    gone = http.request("DELETE", "/api/delete", json={"model": "faq"})
    assert (gone.status_code, gone.json()) == (404, {"error": "model 'faq' not found"})
    with pytest.raises(ollama.ResponseError) as caught:
        client.delete("faq")
    assert caught.value.status_code == 404

    client.delete("llama3.2")  # a derived model keeps the base's blobs alive
    assert show(http, "faq-backup")["system"] == "S"
    assert server.local_names() == ["faq-backup:latest"]


def test_names_keep_their_case_and_namespace(
    server: OllamaServer, client: ollama.Client, http: httpx.Client
) -> None:
    server.add_local("FAQ", "llama3.2")
    server.add_local("team/helper:v1", "llama3.2")
    client.create("faq", from_="llama3.2", system="lower")  # lands on the existing FAQ
    assert server.local_names()[:2] == ["FAQ:latest", "team/helper:v1"]
    assert show(http, "Faq")["system"] == "lower"


def test_modify_local_behind_the_tools_back(server: OllamaServer) -> None:
    spec: dict[str, Any] = {"system": "S", "parameters": {"temperature": 0.2}}
    before = server.add_local("faq", "llama3.2", **spec)
    after = server.modify_local("faq", system="", parameters={"top_k": 5}, drop_parameters=["stop"])
    assert after != before
    view = server.model("faq")
    assert view is not None
    assert (view.system, view.parameters) == ("", {"temperature": 0.2, "top_k": 5})
    assert view.details["parent_model"] == "llama3.2:latest"
    assert server.add_local("faq", "llama3.2", **spec) == before  # re-applying restores it


# ---- chat ------------------------------------------------------------------------------


def test_chat_reveals_what_the_request_carried(server: OllamaServer, client: ollama.Client) -> None:
    server.add_local("faq", "llama3.2", system="You are FAQ.", parameters={"temperature": 0.2})
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "where am I?"},
    ]
    reply = client.chat("faq", messages=messages, options={"seed": 42})
    stop = ",".join(f'"{s}"' for s in LLAMA_STOP)
    assert reply.message.content == (
        "[model=faq:latest] [system=You are FAQ.] [messages=3] "
        f'[options={{"seed":42,"stop":[{stop}],"temperature":0.2}}] You said: where am I?'
    )
    assert reply.done and reply.done_reason == "stop"
    assert reply.prompt_eval_count == 3 + 1 + 1 + 3  # system + the three messages, in words

    own_system = client.chat(
        "faq", messages=[{"role": "system", "content": "Be brief."}, messages[0]]
    )
    assert "[system=Be brief.] [messages=2]" in (own_system.message.content or "")
    assert (
        client.chat("faq", messages=messages).message.content
        == client.chat("faq", messages=messages).message.content
    )
    loaded = client.chat("faq", messages=[])
    assert (loaded.done, loaded.done_reason, loaded.message.content) == (True, "load", "")
    logged = server.calls("/api/chat")[0].body
    assert logged is not None
    assert (logged["messages"], logged["options"], logged["stream"]) == (
        messages,
        {"seed": 42},
        False,
    )


def test_chat_streams_word_by_word(server: OllamaServer, client: ollama.Client) -> None:
    server.add_local("faq", "llama3.2")
    messages = [{"role": "user", "content": "tell me more"}]
    chunks = list(client.chat("faq", messages=messages, stream=True))
    *parts, final = chunks
    assert len(parts) > 5 and not any(part.done for part in parts)
    text = "".join(part.message.content or "" for part in parts)
    assert text == client.chat("faq", messages=messages).message.content
    assert (final.done, final.done_reason, final.message.content) == (True, "stop", "")
    assert final.eval_count == len(parts)
    assert final.prompt_eval_count == 3
    for metric in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
        assert (getattr(final, metric) or 0) > 0


def test_chat_errors(server: OllamaServer, client: ollama.Client) -> None:
    hello = [{"role": "user", "content": "hello"}]
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat("nope", messages=hello)
    assert (caught.value.status_code, caught.value.error) == (404, "model 'nope' not found")
    server.add_local("nomic-embed-text")
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat("nomic-embed-text:latest", messages=hello)
    assert (caught.value.status_code, caught.value.error) == (
        400,
        '"nomic-embed-text:latest" does not support chat',
    )
    server.add_local("typo", "llama3.2", parameters={"temperature": "hot"})  # unchecked
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat("typo", messages=hello)
    assert (caught.value.status_code, caught.value.error) == (
        500,
        'option "temperature" must be of type float32',
    )


def test_chat_images_need_a_vision_model(
    server: OllamaServer, client: ollama.Client, http: httpx.Client
) -> None:
    server.add_local("llava")
    server.add_local("llama3.2")
    picture = [{"role": "user", "content": "what is this?", "images": [PNG_1PX]}]
    assert "[images=1]" in (client.chat("llava", messages=picture).message.content or "")
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat("llama3.2", messages=picture)
    assert (caught.value.status_code, caught.value.error) == (
        500,
        "this model is missing data required for image input",
    )
    bad = http.post(
        "/api/chat",
        json={"model": "llava", "messages": [{"role": "user", "content": "x", "images": ["@@"]}]},
    )
    assert (bad.status_code, bad.json()) == (400, {"error": "illegal base64 data at input byte 0"})


# ---- faults ----------------------------------------------------------------------------


def test_refused_connections(
    server: OllamaServer, client: ollama.Client, http: httpx.Client
) -> None:
    server.add_local("llama3.2")
    server.refuse_connections()
    with pytest.raises(ConnectionError):
        client.list()
    with pytest.raises(httpx.ConnectError):
        next(client.pull("llama3.2", stream=True))
    server.accept_connections()
    assert [m.model for m in client.list().models] == ["llama3.2:latest"]
    with ollama.Client(host=OllamaServer.refused_url()) as nowhere, pytest.raises(ConnectionError):
        nowhere.list()
    server.stop()
    with pytest.raises(httpx.ConnectError):
        http.get("/api/version")


def test_http_500_for_the_first_requests(server: OllamaServer, client: ollama.Client) -> None:
    fault = server.fail("/api/tags", "boom", times=2)
    for _ in range(2):
        with pytest.raises(ollama.ResponseError) as caught:
            client.list()
        assert (caught.value.status_code, caught.value.error) == (500, "boom")
    assert client.list().models == []
    assert fault.hits == 2

    server.fail("/api/create", "disk full", model="broken")
    client.create("fine", from_="llama3.2")
    with pytest.raises(ollama.ResponseError) as caught:
        list(client.create("broken", from_="llama3.2", stream=True))
    assert (caught.value.status_code, caught.value.error) == (500, "disk full")

    server.fail("/api/show", status=502, body="<html>bad gateway</html>")
    with pytest.raises(ollama.ResponseError) as caught:
        client.show("fine")
    assert (caught.value.status_code, caught.value.error) == (502, "<html>bad gateway</html>")


def test_error_line_in_the_middle_of_a_stream(server: OllamaServer, client: ollama.Client) -> None:
    server.fail_mid_stream("/api/pull", "read: connection reset by peer", after=3, times=1)
    seen: list[ollama.ProgressResponse] = []
    with pytest.raises(ollama.ResponseError) as caught:
        for line in client.pull("llama3.2", stream=True):
            seen.append(line)
    assert (caught.value.status_code, caught.value.error) == (-1, "read: connection reset by peer")
    assert len(seen) == 3
    assert server.local_names() == []
    assert client.pull("llama3.2").status == "success"  # the fault was used up

    server.fail_mid_stream("/api/create", "boom", after=1)
    with pytest.raises(ollama.ResponseError) as caught:
        client.create("faq", from_="llama3.2", stream=False)
    assert (caught.value.status_code, caught.value.error) == (500, "boom")


def test_connection_cut_mid_pull(server: OllamaServer, client: ollama.Client) -> None:
    server.cut_connection("/api/pull", after=2, times=1)
    seen: list[ollama.ProgressResponse] = []
    with pytest.raises(httpx.RemoteProtocolError):
        for line in client.pull("llama3.2", stream=True):
            seen.append(line)
    assert len(seen) == 2
    assert server.local_names() == []
    server.cut_connection("/api/tags", times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        client.list()
    assert client.list().models == []


def test_slow_answers(server: OllamaServer) -> None:
    server.delay("/api/tags", 0.3, times=1)
    with ollama.Client(host=server.url, timeout=0.1) as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.list()
    server.delay("/api/pull", 0.3, after=2, times=1)
    with ollama.Client(host=server.url, timeout=0.1) as impatient:
        progress = impatient.pull("llama3.2", stream=True)
        next(progress), next(progress)
        with pytest.raises(httpx.ReadTimeout):
            next(progress)


def test_slow_creates_do_not_serialise_requests(server: OllamaServer) -> None:
    server.add_local("llama3.2")
    gate = server.hold("/api/create")  # no create is answered until the test says so
    errors: list[BaseException] = []

    def create(name: str) -> None:
        try:
            with ollama.Client(host=server.url, timeout=60) as own:
                own.create(name, from_="llama3.2", system=name)
        except BaseException as error:  # surfaced by the assert below
            errors.append(error)

    threads = [threading.Thread(target=create, args=(f"m{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    server.wait_for("/api/create", 4)  # all four arrived while none was answered
    assert len(server.local_names()) == 1
    gate.set()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(server.local_names()) == 5


def test_a_held_request_is_answered_only_when_released(server: OllamaServer) -> None:
    """The broken case for the test above: a held request really waits."""
    gate = server.hold("/api/tags", times=1)
    answers: list[int] = []
    thread = threading.Thread(
        target=lambda: answers.append(len(ollama.Client(host=server.url).list().models))
    )
    thread.start()
    server.wait_for("/api/tags")
    assert answers == []  # arrived, and still not answered
    gate.set()
    thread.join()
    assert answers == [0]


def test_chat_timing(server: OllamaServer, client: ollama.Client) -> None:
    server.add_local("slow", "llama3.2")
    server.set_chat_timing("slow", first_token=0.15, per_token=0.05)
    started = time.monotonic()
    stream = client.chat("slow", messages=[{"role": "user", "content": "hi"}], stream=True)
    next(stream)
    first = time.monotonic() - started
    count = 1 + sum(1 for _ in stream)
    total = time.monotonic() - started
    # Lower bounds only: the server waits before it sends, so a busy machine can only make
    # these longer (and a server that ignored the timing would fail them).
    assert first >= 0.15
    assert total >= 0.15 + (count - 2) * 0.05  # the final chunk comes with no text delay


def test_chat_chunks_arrive_as_they_are_produced(server: OllamaServer, client: ollama.Client):
    server.add_local("llama3.2")
    gate = server.hold("/api/chat", after=2)  # the stream stops after two chunks until released
    stream = client.chat("llama3.2", messages=[{"role": "user", "content": "hi"}], stream=True)
    first = next(stream)  # arrives while the rest of the answer is held back
    assert not first.done
    gate.set()
    rest = list(stream)
    assert rest[-1].done and len(rest) >= 2


# ---- request log -----------------------------------------------------------------------


def test_request_log(server: OllamaServer, client: ollama.Client) -> None:
    client.list()
    client.pull("llama3.2")
    client.pull("mistral")
    client.create("faq", from_="llama3.2", system="S")
    client.show("faq")
    pulls, creates = server.calls("/api/pull"), server.calls("/api/create")
    assert [record.model for record in pulls] == ["llama3.2", "mistral"]
    assert max(r.time for r in pulls) < min(r.time for r in creates)
    assert creates[0].body == {"model": "faq", "from": "llama3.2", "system": "S", "stream": False}
    assert len(server.calls("/api/tags", method="GET")) == 1
    assert len(server.calls(model="faq:latest")) == 2
    assert [r.path for r in server.requests][:2] == ["/api/tags", "/api/pull"]
    server.clear_log()
    client.list()
    assert [(r.method, r.path, r.body) for r in server.requests] == [("GET", "/api/tags", None)]
    assert server.calls("/api/show") == []


# ---- OpenAI-compatible API (/v1) -------------------------------------------------------

COMPLETIONS = "/v1/chat/completions"


def completion(http: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(COMPLETIONS, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    document: dict[str, Any] = response.json()
    return document


def native_chat(
    http: httpx.Client, model: str, messages: list[dict[str, Any]], options: dict[str, Any]
) -> dict[str, Any]:
    body = {"model": model, "messages": messages, "options": options, "stream": False}
    response = http.post("/api/chat", json=body)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def events(response: httpx.Response, text: str | None = None) -> list[Any]:
    """The `data:` payloads of a server-sent event stream, decoded (`[DONE]` kept as text)."""
    assert response.headers["content-type"] == "text/event-stream"
    text = response.text if text is None else text
    payloads = [line[6:] for line in text.split("\n\n") if line.startswith("data: ")]
    assert text == "".join(f"data: {p}\n\n" for p in payloads)
    return [p if p == "[DONE]" else json.loads(p) for p in payloads]


def openai_error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def test_openai_completion_answers_what_api_chat_answers(
    server: OllamaServer, http: httpx.Client
) -> None:
    server.add_local("faq", "llama3.2", system="You are FAQ.", parameters={"temperature": 0.2})
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "where am I?"},
    ]
    sampling = {"temperature": 0.5, "top_p": 0.9, "seed": 7, "frequency_penalty": 0.1}
    body = {"model": "faq", "messages": messages, "max_tokens": 64, "stop": "END", **sampling}
    answer = completion(http, {**body, "presence_penalty": 0.2})
    assert re.fullmatch(r"chatcmpl-\d{1,3}", answer.pop("id"))
    assert abs(answer.pop("created") - time.time()) < 5
    native = native_chat(
        http,
        "faq",
        messages,
        {**sampling, "num_predict": 64, "stop": ["END"], "presence_penalty": 0.2},
    )
    assert '"num_predict":64' in native["message"]["content"]
    assert answer == {
        "object": "chat.completion",
        "model": "faq",  # as the client wrote it
        "system_fingerprint": "fp_ollama",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": native["message"]["content"]},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": native["prompt_eval_count"],
            "completion_tokens": native["eval_count"],
            "total_tokens": native["prompt_eval_count"] + native["eval_count"],
        },
    }
    # Unset, temperature and top_p still go out as 1, over the model's own temperature 0.2.
    plain = completion(http, {"model": "faq", "messages": messages})
    expected = native_chat(http, "faq", messages, {"temperature": 1, "top_p": 1})
    assert plain["choices"][0]["message"]["content"] == expected["message"]["content"]
    assert '"temperature":1,"top_p":1}' in expected["message"]["content"]
    logged = server.calls(COMPLETIONS, model="faq")  # the OpenAI bodies, as they arrived
    assert [record.body for record in logged] == [
        {**body, "presence_penalty": 0.2},
        {"model": "faq", "messages": messages},
    ]


def test_openai_stream_events(server: OllamaServer, http: httpx.Client) -> None:
    server.add_local("llama3.2")
    body = {"model": "llama3.2", "messages": [{"role": "user", "content": "tell me more"}]}
    whole = completion(http, body)
    server.set_chat_timing("llama3.2", first_token=0.1, per_token=0.01)
    started = time.monotonic()
    with http.stream("POST", COMPLETIONS, json={**body, "stream": True}) as response:
        pieces = response.iter_text()
        text = next(pieces)
        time_to_first_token = time.monotonic() - started
        text += "".join(pieces)
        total = time.monotonic() - started
    assert text.startswith("data: {") and time_to_first_token >= 0.1
    assert response.headers["transfer-encoding"] == "chunked"
    *chunks, finish, done = events(response, text)
    # A lower bound only (a busy machine can only make it longer): the server waited between
    # the chunks (that they arrive one by one is test_chat_chunks_arrive_as_they_are_produced).
    assert total >= 0.1 + (len(chunks) - 2) * 0.01
    server.clear_faults()  # back to full speed for the rest
    assert done == "[DONE]"
    assert len({chunk["id"] for chunk in [*chunks, finish]}) == 1
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert all(c["system_fingerprint"] == "fp_ollama" for c in chunks)
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None] * len(chunks)
    assert {c["choices"][0]["delta"]["role"] for c in chunks} == {"assistant"}  # on each one
    joined = "".join(c["choices"][0]["delta"]["content"] for c in chunks)
    assert joined == whole["choices"][0]["message"]["content"]
    assert finish["choices"] == [
        {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": "stop"}
    ]
    assert "usage" not in finish

    usage_asked = {**body, "stream": True, "stream_options": {"include_usage": True}}
    *_, usage, done = events(http.post(COMPLETIONS, json=usage_asked))
    assert (usage["choices"], usage["usage"], done) == ([], whole["usage"], "[DONE]")
    assert whole["usage"]["completion_tokens"] == len(chunks)

    server.version = "0.32.6"  # OpenAI's own wire format
    *chunks, finish, usage, done = events(http.post(COMPLETIONS, json=usage_asked))
    assert chunks[0]["choices"][0]["delta"] == {
        "role": "assistant",
        "content": "[model=llama3.2:latest] ",
    }
    assert all(c["choices"][0]["delta"].keys() == {"content"} for c in chunks[1:])
    assert finish["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    assert usage["usage"] == whole["usage"]
    assert len({c["created"] for c in [*chunks, finish, usage]}) == 1


def test_openai_image_parts(server: OllamaServer, http: httpx.Client) -> None:
    server.add_local("llava")
    server.add_local("llama3.2")
    parts = [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_1PX}"}},
    ]
    answer = completion(http, {"model": "llava", "messages": [{"role": "user", "content": parts}]})
    # Each part becomes a message of its own; the image's has no text.
    split: list[dict[str, Any]] = [
        {"role": "user", "content": "what is this?"},
        {"role": "user", "content": "", "images": [PNG_1PX]},
    ]
    native = native_chat(http, "llava", split, {"temperature": 1, "top_p": 1})
    content = answer["choices"][0]["message"]["content"]
    assert content == native["message"]["content"]
    assert "[messages=2] [images=1]" in content and content.endswith("You said: ")
    as_string = [{"type": "image_url", "image_url": f"data:image/jpeg;base64,{PNG_1PX}"}]
    alone = completion(
        http, {"model": "llava", "messages": [{"role": "user", "content": as_string}]}
    )
    assert "[messages=1] [images=1]" in alone["choices"][0]["message"]["content"]

    def refused(model: str, url: str) -> httpx.Response:
        part = {"type": "image_url", "image_url": {"url": url}}
        return http.post(
            COMPLETIONS, json={"model": model, "messages": [{"role": "user", "content": [part]}]}
        )

    blind = refused("llama3.2", f"data:image/png;base64,{PNG_1PX}")
    assert (blind.status_code, blind.json()) == (
        500,
        openai_error("this model is missing data required for image input", "api_error"),
    )
    remote = refused("llava", "https://example.com/cat.png")
    assert (remote.status_code, remote.json()) == (
        400,
        openai_error("invalid image input", "invalid_request_error"),
    )
    broken = refused("llava", "data:image/png;base64,@@")
    assert broken.json()["error"]["message"] == "invalid message format"
    server.version = "0.13.3"  # decodeImageURL: remote images named, bad data called bad images
    remote = refused("llava", "https://example.com/cat.png")
    assert remote.json()["error"]["message"] == (
        "image URLs are not currently supported, please use base64 encoded data instead"
    )
    assert refused("llava", "data:image/png;base64,@@").json()["error"]["message"] == (
        "invalid image input"
    )


def test_openai_errors(server: OllamaServer, http: httpx.Client, client: ollama.Client) -> None:
    hello = [{"role": "user", "content": "hello"}]
    missing = http.post(COMPLETIONS, json={"model": "nope", "messages": hello})
    assert (missing.status_code, missing.json()) == (
        404,
        openai_error("model 'nope' not found", "api_error"),  # the type ignored the status
    )
    assert missing.headers["content-type"] == "application/json"
    server.version = "0.18.0"
    assert http.post(COMPLETIONS, json={"model": "nope", "messages": hello}).json() == (
        openai_error("model 'nope' not found", "not_found_error")
    )
    server.version = "0.3.10"  # the scheduler found it missing, and said so with %q
    old = http.post(COMPLETIONS, json={"model": "nope", "messages": hello})
    assert old.json()["error"]["message"] == 'model "nope" not found, try pulling it first'
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat("nope", messages=hello)
    assert (caught.value.status_code, caught.value.error) == (404, old.json()["error"]["message"])
    server.version = "0.2.1"
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat("nope", messages=hello)
    assert caught.value.error == "model 'nope' not found, try pulling it first"
    server.version = "0.12.6"

    server.add_local("nomic-embed-text")
    embedder = http.post(COMPLETIONS, json={"model": "nomic-embed-text", "messages": hello})
    assert (embedder.status_code, embedder.json()) == (
        400,
        openai_error('"nomic-embed-text" does not support chat', "api_error"),
    )
    refusals = {  # the middleware's own refusals
        b"": "EOF",
        b"{nope": "invalid character 'n' looking for beginning of value",
        b"[1]": "json: cannot unmarshal array into Go value of type openai.ChatCompletionRequest",
        b'{"model": 5}': "json: cannot unmarshal number into Go struct field "
        "ChatCompletionRequest.model of type string",
        b'{"messages": [{"role": 1}]}': "json: cannot unmarshal number into Go struct field "
        "Message.messages.role of type string",
        b'{"messages": [], "max_tokens": 1.5}': "json: cannot unmarshal number 1.5 into Go "
        "struct field ChatCompletionRequest.max_tokens of type int",
        b'{"model": "x", "messages": []}': "[] is too short - 'messages'",
        b'{"model": "x", "messages": [{"role": "user"}]}': "invalid message content type: <nil>",
        b'{"model": "x", "messages": [{"role": "user", "content": [{"type": "audio"}]}]}': (
            "invalid message format"
        ),
    }
    for raw, message in refusals.items():
        response = http.post(COMPLETIONS, content=raw)
        assert (response.status_code, response.json()) == (
            400,
            openai_error(message, "invalid_request_error"),
        ), raw
        assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert http.get(COMPLETIONS).status_code == 405


def test_openai_models(server: OllamaServer, http: httpx.Client) -> None:
    empty = http.get("/v1/models")
    assert (empty.status_code, empty.json()) == (200, {"object": "list", "data": None})
    assert empty.headers["content-type"] == "application/json"
    server.add_local("llama3.2")
    server.add_local("team/helper:v1", "llama3.2")
    listed = http.get("/v1/models").json()
    tags = http.get("/api/tags").json()["models"]  # newest first, like the list
    assert listed == {
        "object": "list",
        "data": [
            {
                "id": tag["name"],
                "object": "model",
                "created": calendar.timegm(
                    time.strptime(tag["modified_at"][:19], "%Y-%m-%dT%H:%M:%S")
                ),
                "owned_by": owner,
            }
            for tag, owner in zip(tags, ["team", "library"], strict=True)
        ],
    }
    assert [entry["id"] for entry in listed["data"]] == ["team/helper:v1", "llama3.2:latest"]
    assert http.head("/v1/models").status_code == 405


def test_openai_faults(server: OllamaServer, http: httpx.Client) -> None:
    server.add_local("llama3.2")
    body = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
    streaming = {**body, "stream": True}
    server.fail(COMPLETIONS, "boom", times=1)
    failed = http.post(COMPLETIONS, json=body)
    assert (failed.status_code, failed.json()) == (500, openai_error("boom", "api_error"))
    assert completion(http, body)["choices"][0]["finish_reason"] == "stop"

    server.cut_connection(COMPLETIONS, after=2, times=1)
    received: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("POST", COMPLETIONS, json=streaming) as response,
    ):
        received.extend(line for line in response.iter_lines() if line)
    assert len(received) == 2

    server.fail_mid_stream(COMPLETIONS, "runner crashed", after=2, times=1)
    *chunks, broken = events(http.post(COMPLETIONS, json=streaming))
    assert len(chunks) == 2  # then an empty chunk, and no [DONE]: the error itself is lost
    assert (broken["model"], broken["choices"][0]["delta"]["content"]) == ("", "")
    server.fail_mid_stream(COMPLETIONS, "runner crashed", after=0, times=1)
    early = http.post(COMPLETIONS, json=streaming)
    assert (early.status_code, early.json()) == (500, openai_error("runner crashed", "api_error"))
    server.fail("/v1/models", status=502, body="<html>bad gateway</html>", times=1)
    assert http.get("/v1/models").text == "<html>bad gateway</html>"
