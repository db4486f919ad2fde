"""A scripted history for the diff and review tests: a registry on `main`, then a branch
`feature` that adds, edits a prompt, edits a parameter, edits a parent, renames (with modelops
and by hand), clones, hides, shares, deletes, rolls back and replaces an avatar."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tests.helpers import RegistryFixture, png, run

RED = png((2, 2), (200, 0, 0))
BLUE = png((2, 2), (0, 0, 200))


@dataclass
class History:
    reg: RegistryFixture
    main: str = ""
    commits: dict[str, str] = field(default_factory=dict)  # name -> sha

    def step(self, name: str, *args: str) -> None:
        result = run(*args)
        assert result.code == 0, result.err
        self.commits[name] = self.reg.head()

    def placeholders(self, text: str) -> str:
        """Commit ids and subjects as <name>, the base commit as <main>."""
        for name, sha in self.commits.items():
            subject = self.reg.git("log", "-1", "--format=%s", sha).strip()
            text = text.replace(f"{sha[:10]} {subject}", f"<{name}>")
            shown = subject.replace("<", "&lt;").replace(">", "&gt;")  # as Markdown shows it
            text = text.replace(f"`{sha[:10]}` {shown}", f"<{name}>")
        for name, sha in self.commits.items():
            text = text.replace(sha, f"<{name}>")
        return text.replace(self.main, "<main>").replace(self.main[:10], "<main>")


def build(reg: RegistryFixture, on_main: Callable[[], None] | None = None) -> History:
    """`on_main` runs on main, before the branch is made (to apply main, say)."""
    reg.git("branch", "-M", "main")
    (reg.root / "avatars" / "coder.png").write_bytes(RED)
    reg.add("coder", name="Coder", system="Write code.", avatar="avatars/coder.png")
    reg.add("faq", base="mistral:latest", name="Quick FAQ", system="Answer briefly.",
            parameters={"temperature": 0.2})  # fmt: skip
    reg.add("helper", base="mistral:latest")
    reg.add("notes", base="mistral:latest", name="Notes", system="Take notes.", tags=["notes"])
    reg.add("plain", base="mistral:latest")
    reg.add("tutor", parameters={"temperature": 0.4})
    history = History(reg)
    history.commits["tutor-0.4"] = reg.head()
    reg.add("writer", base="llama3.1:8b", system="Write stories.", parameters={"temperature": 1.1})
    reg.add("poet", base="writer", parameters={"num_predict": 300})
    reg.write("tutor", reg.model_text("tutor", parameters={"temperature": 0.5}))
    history.main = reg.commit("tutor warmer")
    if on_main is not None:
        on_main()
    reg.git("checkout", "-q", "-b", "feature")

    step = history.step
    step("create", "create", "support-bot", "--base", "mistral:latest", "--name", "Support Bot",
         "--system", "Help customers.")  # fmt: skip
    step("faq-system", "set", "faq", "system=Answer briefly and cite your source.")
    step("faq-temperature", "set", "faq", "parameters.temperature=0.3")
    step("writer-system", "set", "writer", "system=Write short stories.")
    step("rename", "rename", "faq", "support")
    step("clone", "clone", "coder", "coder-2", "--name", "Coder 2")
    step("hide", "hide", "coder")
    step("share", "share", "writer", "--group", "writers")
    step("delete", "delete", "helper")
    step("rollback", "rollback", "tutor", history.commits["tutor-0.4"])
    reg.git("mv", "models/notes.yaml", "models/scribe.yaml")
    scribe = reg.root / "models" / "scribe.yaml"
    scribe.write_text(scribe.read_text().replace("id: notes", "id: scribe"))
    history.commits["hand-rename"] = reg.commit("Rename notes to scribe by hand")
    (reg.root / "avatars" / "coder.png").write_bytes(BLUE)
    history.commits["avatar"] = reg.commit("Blue avatar for coder")
    return history
