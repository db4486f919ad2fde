"""YAML in and out: the YAML 1.2 reader, positions, and round-trip writing."""

from __future__ import annotations

import textwrap

import pytest

from modelops.errors import SpecError
from modelops.spec import emit, yamledit, yamlread
from modelops.spec.layout import flow_style, formatted, key_order, render_new


def load(text: str) -> yamlread.Document:
    return yamlread.load(textwrap.dedent(text), "f.yaml")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", "yes"),
        ("on", "on"),
        ("no", "no"),
        ("true", True),
        ("False", False),
        ("010", 10),
        ("0o17", 15),
        ("0x1f", 31),
        ("1_000", "1_000"),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        (".inf", float("inf")),
        ("~", None),
        ("null", None),
        ("2024-01-01", "2024-01-01"),
        ("'0.3'", "0.3"),
        ("1:20", "1:20"),
    ],
)
def test_scalars_follow_the_yaml_1_2_core_schema(text: str, value: object):
    assert yamlread.load(f"k: {text}\n", "f").data == {"k": value}


def test_positions_point_at_keys_and_values():
    doc = load(
        """\
        version: 1
        parameters:
          temperature: hot
          stop:
            - a
            - b
        """
    )
    assert doc.locate(("parameters", "temperature")) == (3, 3)
    assert doc.value_position(("parameters", "temperature")) == (3, 16)
    assert doc.locate(("parameters", "stop", 1)) == (6, 7)
    assert doc.locate(("parameters", "missing")) == (2, 1)  # the deepest existing key
    assert doc.locate(()) == (1, 1)


def test_every_duplicate_key_is_reported():
    with pytest.raises(SpecError) as info:
        load("a: 1\nb: 2\na: 3\nb: 4\n")
    assert [str(p) for p in info.value.problems] == [
        "f.yaml:3:1: duplicate key 'a' (first defined on line 1; keep one)",
        "f.yaml:4:1: duplicate key 'b' (first defined on line 2; keep one)",
    ]


def test_aliases_within_budget_are_fine_and_shared():
    doc = load("a: &x [1, 2]\nb: *x\n")
    assert doc.data == {"a": [1, 2], "b": [1, 2]}


def test_an_alias_bomb_is_refused_before_it_expands():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    with pytest.raises(SpecError, match="aliases expand to more than 100,000 values"):
        yamlread.load("\n".join(lines) + "\n", "f")


def test_merge_conflict_markers_are_named():
    with pytest.raises(SpecError) as info:
        yamlread.load("a: 1\n<<<<<<< ours\na: 2\n=======\na: 3\n>>>>>>> theirs\n", "f")
    assert [p.line for p in info.value.problems] == [2, 4, 6]
    assert "merge-conflict marker '<<<<<<<'" in info.value.problems[0].message


def test_decode_refuses_large_and_non_utf8_files():
    with pytest.raises(SpecError, match="the limit is 1,048,576"):
        yamlread.decode(b"x" * (yamlread.MAX_FILE_BYTES + 1), "f")
    with pytest.raises(SpecError, match="not valid UTF-8"):
        yamlread.decode(b"a: caf\xe9\n", "f")
    assert yamlread.decode(b"\xef\xbb\xbfa: 1\n", "f") == "a: 1\n"  # a BOM is fine


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a:\n  b: 1\n  c:\n    - x\n", (2, 2)),
        ("a:\n  b: 1\n  c:\n  - x\n", (2, 0)),
        ("a:\n    b: 1\n    c:\n        - x\n", (4, 4)),
        ("a: |\n    text\nb:\n  c: 1\n", (2, 2)),
        ("a: 1\n", (2, 2)),
    ],
)
def test_guess_indent(text: str, expected: tuple[int, int]):
    assert yamledit.guess_indent(text) == expected


ROUND_TRIP = """\
# a comment at the top
version: 1
id: faq   # trailing comment
base: mistral
tags: [a, b]
system: |
    Line one.
    Line two.
parameters:
    temperature: 0.7    # tuned
    stop:
    - "###"
    - '<x>'
"""


def test_a_round_trip_edit_changes_only_its_line():
    doc = yamledit.rt_load(ROUND_TRIP)
    yamledit.rt_set(doc, ("parameters", "temperature"), 0.3, key_order)
    assert yamledit.rt_dump(doc) == ROUND_TRIP.replace("0.7    # tuned", "0.3    # tuned")


def test_a_new_key_goes_to_its_canonical_place():
    doc = yamledit.rt_load(ROUND_TRIP)
    yamledit.rt_set(doc, ("name",), "FAQ", key_order)
    yamledit.rt_set(doc, ("parameters", "num_ctx"), 4096, key_order)
    out = yamledit.rt_dump(doc).splitlines()
    assert out[3:5] == ["name: FAQ", "base: mistral"]
    assert out[9:11] == ["parameters:", "    num_ctx: 4096"]


def test_delete_prunes_emptied_mappings():
    doc = yamledit.rt_load("a: 1\nb:\n  c:\n    d: 2\n")
    assert yamledit.rt_delete(doc, ("b", "c", "d"))
    assert yamledit.rt_dump(doc) == "a: 1\n"
    assert not yamledit.rt_delete(doc, ("zzz",))


def test_canonical_dump_of_new_data():
    data = {
        "version": 1,
        "tags": ["a", "b"],
        "system": "one\ntwo\n",
        "suggestions": [{"prompt": "p", "title": "t"}],
        "access": {"public": True, "read": {"groups": ["eng"], "users": []}},
    }
    text = yamledit.dump_canonical(yamledit.to_commented(data, flow_style), "# head")
    assert text == textwrap.dedent(
        """\
        # head
        version: 1
        tags: [a, b]
        system: |
          one
          two
        suggestions:
          - prompt: p
            title: t
        access:
          public: true
          read: {groups: [eng], users: []}
        """
    )


def test_parse_value_reads_flow_yaml_and_falls_back_to_text():
    assert yamlread.parse_value("0.3") == 0.3
    assert yamlread.parse_value("[a, b]") == ["a", "b"]
    assert yamlread.parse_value("{vision: true}") == {"vision": True}
    assert yamlread.parse_value("[unclosed") == "[unclosed"
    assert yamlread.parse_value("") == ""


# --- the fast emitter -------------------------------------------------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

keys = st.text(min_size=1, max_size=12).filter(lambda k: k.strip() == k and "\x00" not in k)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=True)
    | st.text(max_size=30)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(keys, values, min_size=1, max_size=6))
def test_emitted_yaml_reads_back_the_same_in_both_readers(data):
    text = emit.emit(data, flow_style)
    assert yamlread.load(text, "f").data == data
    assert yamledit.rt_load(text) == data


@given(
    st.fixed_dictionaries(
        {"version": st.just(1), "id": st.just("m"), "base": st.just("mistral")},
        optional={
            "system": st.text(min_size=1, max_size=60),
            "tags": st.lists(st.text(min_size=1, max_size=10), max_size=4),
            "parameters": st.fixed_dictionaries(
                {},
                optional={
                    "stop": st.lists(st.text(min_size=1, max_size=8), max_size=3),
                    "temperature": st.floats(0, 2).map(
                        lambda x: round(x, 4)
                    ),  # ruamel rounds 1e-126
                },
            ),
            "suggestions": st.lists(
                st.fixed_dictionaries(
                    {"prompt": st.text(min_size=1, max_size=20)},
                    optional={"title": st.text(min_size=1, max_size=10)},
                ),
                max_size=2,
            ),
            "access": st.fixed_dictionaries(
                {
                    "public": st.booleans(),
                    "read": st.fixed_dictionaries(
                        {
                            "groups": st.lists(st.text(min_size=1, max_size=6), max_size=2),
                            "users": st.just([]),
                        }
                    ),
                }
            ),
        },
    )
)
def test_a_new_file_is_already_formatted(data):
    text = render_new(data)
    assert formatted(text) == text


@pytest.mark.parametrize(
    "text", ["\U0010ffff", "a\ufeffb", "\x85", "tab\there", "\x00", "é and 😀"]
)
def test_awkward_characters_are_written_as_fmt_writes_them(text):
    data = {"version": 1, "id": "m", "base": "mistral", "system": text}
    rendered = render_new(data)
    assert formatted(rendered) == rendered
    assert yamlread.load(rendered.decode(), "f").data["system"] == text
