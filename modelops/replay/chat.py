"""`modelops chat`: an interactive conversation that can switch model mid-way, context kept.

/model NAME        answer with NAME from now on (the conversation so far is kept)
/compare A B ...   send the next message to each of them; the first one's answer is kept
/image PATH        attach an image to the next message
/save FILE         write the conversation so far as a file `modelops replay` can play
/help, /quit
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from modelops.errors import ModelopsError
from modelops.registry.files import Unreadable
from modelops.replay.providers import Message, Provider
from modelops.replay.source import read_image
from modelops.spec import avatar as imaging
from modelops.spec.conversation import dump

HELP = (__doc__ or "").split("\n\n", 1)[1].rstrip() + "\n"


@dataclass
class Turn:
    user: str
    model: str
    images: list[str]  # paths as given


@dataclass
class ChatSession:
    resolve: Callable[[str], Provider]
    model: str
    out: TextIO
    options: dict[str, Any] = field(default_factory=dict)
    context: list[Message] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    pending_images: list[str] = field(default_factory=list)
    pending_pictures: list[bytes] = field(default_factory=list)  # read once, when attached
    compare_next: list[str] = field(default_factory=list)
    _providers: dict[str, Provider] = field(default_factory=dict)

    def provider(self, name: str) -> Provider:
        if name not in self._providers:
            self._providers[name] = self.resolve(name)
        return self._providers[name]

    def run(self, lines: Iterator[str]) -> None:
        self.say(f"chatting with {self.model}; /help for commands")
        for line in lines:
            text = line.strip()
            if not text:
                continue
            if text.startswith("/"):
                if not self.command(text):
                    return
                continue
            self.send(text)

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def command(self, text: str) -> bool:
        """Carry out a /command; False ends the session."""
        try:
            name, *args = shlex.split(text)
        except ValueError as exc:
            self.say(f"! {exc}")
            return True
        if name in ("/quit", "/exit"):
            return False
        if name == "/help":
            self.out.write(HELP)
        elif name == "/model" and len(args) == 1:
            self.switch(args[0])
        elif name == "/compare" and len(args) >= 2:
            self.compare_next = args
            self.say(f"the next message goes to {', '.join(args)}")
        elif name == "/image" and len(args) == 1:
            self.attach(args[0])
        elif name == "/save" and len(args) == 1:
            self.save(Path(args[0]))
        else:
            self.say(f"! unknown or incomplete command: {text} (/help lists them)")
        return True

    def switch(self, name: str) -> None:
        try:
            self.provider(name)
        except ModelopsError as exc:
            self.say(f"! {exc.message}")
            return
        self.model = name
        self.say(f"now answering: {name} ({len(self.context)} messages of context kept)")

    def attach(self, path: str) -> None:
        try:
            picture = read_image(Path(path))
        except Unreadable as exc:
            self.say(f"! {path} {exc}")
            return
        except imaging.ImageError as exc:
            self.say(f"! {path}: {exc}")
            return
        self.pending_images.append(path)
        self.pending_pictures.append(picture)
        self.say(f"attached {path} to the next message")

    def send(self, text: str) -> None:
        message = Message("user", text, tuple(self.pending_pictures))
        models = self.compare_next or [self.model]
        kept: str | None = None
        answered_by = models[0]
        for name in models:
            if len(models) > 1:
                self.say(f"[{name}]")
            try:
                reply = self.provider(name).chat(
                    [*self.context, message], self.options, self._stream
                )
            except ModelopsError as exc:
                self.say(f"\n! {exc.message}")
                continue
            self.say("")
            speed = ""
            if reply.answer_tokens and reply.ttft_ms is not None and reply.total_ms > reply.ttft_ms:
                speed = (
                    f", {reply.answer_tokens / ((reply.total_ms - reply.ttft_ms) / 1000):.1f} tok/s"
                )
            self.say(
                f"  ({name}: {reply.total_ms:.0f} ms, {reply.answer_tokens or 0} tokens{speed})"
            )
            if kept is None:
                kept = reply.text
                answered_by = name
        if kept is None:
            return  # nothing answered: the message is not part of the conversation
        self.context += [message, Message("assistant", kept)]
        self.turns.append(Turn(text, answered_by, list(self.pending_images)))
        self.pending_images, self.pending_pictures, self.compare_next = [], [], []

    def _stream(self, piece: str) -> None:
        self.out.write(piece)
        self.out.flush()

    def save(self, path: Path) -> None:
        turns = []
        for turn in self.turns:
            entry: dict[str, Any] = {"user": turn.user, "model": turn.model}
            if turn.images:
                entry["images"] = [
                    os.path.relpath(Path(p).resolve(), path.resolve().parent) for p in turn.images
                ]
            turns.append(entry)
        data: dict[str, Any] = {"version": 1, "name": f"chat saved to {path.name}", "turns": turns}
        if self.options:
            data["defaults"] = self.options
        if not turns:
            self.say("! nothing to save yet")
            return
        try:
            path.write_text(dump(data), encoding="utf-8")
        except OSError as exc:
            self.say(f"! cannot write {path}: {exc.strerror}")
            return
        self.say(f"saved {len(turns)} turn(s) to {path} (play it with: modelops replay {path})")
