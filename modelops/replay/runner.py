"""Playing a conversation.

Compare mode (no pins): every model answers every turn, each with its own context, all models
at once. Switch mode (turns pinned to models): one shared context, each turn answered by its
model, which sees the whole conversation so far, as Open WebUI keeps context when you switch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from modelops.errors import ModelopsError
from modelops.replay.providers import Message, Provider
from modelops.replay.results import Answer, Run, TurnInfo, check
from modelops.spec import avatar as imaging
from modelops.spec.conversation import Conversation

Images = Mapping[tuple[int, int], bytes]
OnAnswer = Callable[[Answer], None]


def _turns(conversation: Conversation, images: Images) -> list[TurnInfo]:
    out = []
    for t, turn in enumerate(conversation.turns):
        uris = []
        for i in range(len(turn.images or [])):
            data = images[(t, i)]
            uris.append(imaging.data_uri(data, imaging.check_image(data, limit=len(data) + 1)))
        expect = turn.expect.model_dump(by_alias=True, exclude_none=True) if turn.expect else None
        out.append(TurnInfo(turn.user, uris, turn.model, expect))
    return out


def _message(conversation: Conversation, images: Images, t: int) -> Message:
    turn = conversation.turns[t]
    return Message("user", turn.user, tuple(images[(t, i)] for i in range(len(turn.images or []))))


def _ask(
    provider: Provider, model: str, t: int, context: list[Message], options: Mapping[str, Any]
) -> Answer:
    answer = Answer(model, t)
    try:
        reply = provider.chat(context, options, None)
    except ModelopsError as exc:
        answer.error = exc.message
        return answer
    answer.text, answer.ttft_ms, answer.total_ms = reply.text, reply.ttft_ms, reply.total_ms
    answer.prompt_tokens, answer.answer_tokens = reply.prompt_tokens, reply.answer_tokens
    answer.tokens_estimated = reply.estimated
    return answer


def _turn(
    conversation: Conversation,
    images: Images,
    t: int,
    provider: Provider,
    model: str,
    context: list[Message],
    options: Mapping[str, Any],
    on_answer: OnAnswer,
) -> Answer:
    """One turn: the user's message joins the context, the model answers, the answer is
    judged and (if there is one) joins the context too."""
    context.append(_message(conversation, images, t))
    answer = _ask(provider, model, t, context, options)
    answer.checks = check(conversation.turns[t].expect, answer)
    if answer.error is None:
        context.append(Message("assistant", answer.text))
    on_answer(answer)
    return answer


def compare(
    conversation: Conversation,
    images: Images,
    providers: Mapping[str, Provider],
    options: Mapping[str, Any],
    source: str,
    on_answer: OnAnswer,
) -> Run:
    def play(model: str) -> list[Answer]:
        context: list[Message] = []
        return [
            _turn(conversation, images, t, providers[model], model, context, options, on_answer)
            for t in range(len(conversation.turns))
        ]

    models = list(providers)
    with ThreadPoolExecutor(max(1, len(models))) as pool:
        results = list(pool.map(play, models))
    answers = [a for t in range(len(conversation.turns)) for r in results for a in r if a.turn == t]
    return Run(
        _name(conversation, source),
        source,
        "compare",
        models,
        _turns(conversation, images),
        answers,
        dict(options),
    )


def switch(
    conversation: Conversation,
    images: Images,
    providers: Mapping[str, Provider],
    options: Mapping[str, Any],
    source: str,
    on_answer: OnAnswer,
) -> Run:
    """`providers` holds every pinned model; unpinned turns go to the model before them (the
    first turn, unpinned, to the first provider)."""
    context: list[Message] = []
    answers = []
    current = next(iter(providers))
    for t, turn in enumerate(conversation.turns):
        current = turn.model or current
        answers.append(
            _turn(conversation, images, t, providers[current], current, context, options, on_answer)
        )
    used = list(dict.fromkeys(a.model for a in answers))
    return Run(
        _name(conversation, source),
        source,
        "switch",
        used,
        _turns(conversation, images),
        answers,
        dict(options),
    )


def _name(conversation: Conversation, source: str) -> str:
    return conversation.name or source


def models_for(conversation: Conversation, given: Sequence[str]) -> list[str]:
    """The models a replay needs: the pins (switch mode) or the ones asked for (compare)."""
    if conversation.pinned:
        fallback = list(given) or list(conversation.models or [])
        first = fallback[:1] if not conversation.turns[0].model else []
        return list(dict.fromkeys([*first, *(t.model for t in conversation.turns if t.model)]))
    models = list(given) or list(conversation.models or [])
    if not models:
        raise ModelopsError("say which models answer: --models a,b (or models: in the file)")
    return list(dict.fromkeys(models))
