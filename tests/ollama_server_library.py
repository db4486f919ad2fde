"""The default catalogue: models ollama.com and hf.co serve in every test, with their own
templates, system prompts, parameters and licences (abridged, but shaped like the real ones).

Each entry is (name, fields for Catalogue.add, alias tags of the same manifest).
"""

from typing import Any

_LLAMA3_TEMPLATE = """<|start_header_id|>system<|end_header_id|>

Cutting Knowledge Date: December 2023

{{ if .System }}{{ .System }}
{{- end }}
{{- if .Tools }}When you receive a tool call response, use the output to format an answer.

You are a helpful assistant with tool calling capabilities.
{{- end }}<|eot_id|>
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if eq .Role "user" }}<|start_header_id|>user<|end_header_id|>

{{ .Content }}<|eot_id|>{{ if $last }}<|start_header_id|>assistant<|end_header_id|>

{{ end }}
{{- else if eq .Role "assistant" }}<|start_header_id|>assistant<|end_header_id|>

{{ .Content }}{{ if not $last }}<|eot_id|>{{ end }}
{{- end }}
{{- end }}"""

_MISTRAL_TEMPLATE = """{{- range $index, $_ := .Messages }}
{{- if eq .Role "user" }}
{{- if and $.Tools (le (len (slice $.Messages $index)) 2) }}
[AVAILABLE_TOOLS] {{ $.Tools }}[/AVAILABLE_TOOLS]
{{- end }}[INST] {{ if and $.System (eq (len (slice $.Messages $index)) 1) }}{{ $.System }}

{{ end }}{{ .Content }}[/INST]
{{- else if eq .Role "assistant" }} {{ .Content }}</s>
{{- end }}
{{- end }}"""

_LLAVA_TEMPLATE = "[INST] {{ if .System }}{{ .System }} {{ end }}{{ .Prompt }} [/INST]"

_QWEN_CHAT_TEMPLATE = """{{ if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{- if .Tools }}<|im_start|>system
# Tools
{{- range .Tools }}
{"type": "function", "function": {{ .Function }}}
{{- end }}<|im_end|>
{{ end }}{{- range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
"""

# The coder variant also fills in the middle, which gives it the "insert" capability.
_QWEN_TEMPLATE = (
    "{{- if .Suffix }}<|fim_prefix|>{{ .Prompt }}<|fim_suffix|>{{ .Suffix }}<|fim_middle|>\n"
    "{{- else }}" + _QWEN_CHAT_TEMPLATE + "{{ end }}"
)

_GEMMA_TEMPLATE = """<start_of_turn>user
{{ if .System }}{{ .System }} {{ end }}{{ .Prompt }}<end_of_turn>
<start_of_turn>model
{{ .Response }}<end_of_turn>
"""

_LLAMA_LICENSE = (
    "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT\n"
    "Llama 3.2 Version Release Date: September 25, 2024\n"
    'By clicking "I Accept" below or by using or distributing any portion of the Llama Materials,'
    " you agree to be bound by this Agreement."
)
_LLAMA_POLICY = "**Llama 3.2** **Acceptable Use Policy**\nMeta is committed to promoting safe use."
_LLAMA31_LICENSE = (
    "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\nLlama 3.1 Version Release Date: July 23, 2024"
)
_APACHE = "Apache License\nVersion 2.0, January 2004\nhttp://www.apache.org/licenses/"
_GEMMA_LICENSE = "Gemma Terms of Use\n\nLast modified: February 21, 2024"
_LLAMA_STOP = ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
_QWEN_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."

DEFAULT_ENTRIES: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    (
        "llama3.2:latest",
        {
            "template": _LLAMA3_TEMPLATE,
            "parameters": {"stop": _LLAMA_STOP},
            "license": (_LLAMA_LICENSE, _LLAMA_POLICY),
        },
        ("llama3.2:3b",),
    ),
    (
        "llama3.1:8b",
        {
            "parameter_size": "8.0B",
            "size": 4_920_738_944,
            "parameter_count": 8_030_261_248,
            "template": _LLAMA3_TEMPLATE,
            "parameters": {"stop": _LLAMA_STOP},
            "license": _LLAMA31_LICENSE,
            "embedding_length": 4096,
        },
        (),
    ),
    (
        "mistral:latest",
        {
            "parameter_size": "7.2B",
            "quantization_level": "Q4_0",
            "size": 4_113_289_280,
            "parameter_count": 7_248_023_552,
            "template": _MISTRAL_TEMPLATE,
            "parameters": {"stop": ["[INST]", "[/INST]"]},
            "license": _APACHE,
            "context_length": 32768,
            "embedding_length": 4096,
        },
        ("mistral:7b",),
    ),
    (
        "llava:latest",
        {
            "parameter_size": "7B",
            "quantization_level": "Q4_0",
            "size": 4_113_289_792,
            "parameter_count": 7_241_732_096,
            "template": _LLAVA_TEMPLATE,
            "parameters": {"stop": ["[INST]", "[/INST]"]},
            "license": _APACHE,
            "projector_size": 624_434_368,
            "context_length": 32768,
            "embedding_length": 4096,
        },
        ("llava:7b",),
    ),
    (
        "qwen2.5-coder:7b",
        {
            "family": "qwen2",
            "parameter_size": "7.6B",
            "size": 4_683_073_184,
            "parameter_count": 7_615_616_512,
            "template": _QWEN_TEMPLATE,
            "system": _QWEN_SYSTEM,
            "license": _APACHE,
            "context_length": 32768,
            "embedding_length": 3584,
        },
        (),
    ),
    (
        "qwen2.5:7b",
        {
            "family": "qwen2",
            "parameter_size": "7.6B",
            "size": 4_683_074_048,
            "parameter_count": 7_615_616_512,
            "template": _QWEN_CHAT_TEMPLATE,
            "system": _QWEN_SYSTEM,
            "license": _APACHE,
            "context_length": 32768,
            "embedding_length": 3584,
        },
        ("qwen2.5:latest",),
    ),
    (
        "gemma2:2b",
        {
            "family": "gemma2",
            "parameter_size": "2.6B",
            "quantization_level": "Q4_0",
            "size": 1_629_509_152,
            "parameter_count": 2_614_341_888,
            "template": _GEMMA_TEMPLATE,
            "parameters": {"stop": ["<start_of_turn>", "<end_of_turn>"]},
            "license": _GEMMA_LICENSE,
            "context_length": 8192,
            "embedding_length": 2304,
        },
        (),
    ),
    (
        "nomic-embed-text:latest",
        {
            "family": "nomic-bert",
            "parameter_size": "137M",
            "quantization_level": "F16",
            "size": 274_290_656,
            "parameter_count": 136_727_040,
            "parameters": {"num_ctx": 8192},
            "license": _APACHE,
            "embedding": True,
            "context_length": 2048,
            "embedding_length": 768,
        },
        ("nomic-embed-text:v1.5",),
    ),
    (
        "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
        {
            "parameter_size": "1.2B",
            "size": 807_694_464,
            "parameter_count": 1_235_814_432,
            "template": _LLAMA3_TEMPLATE,
            "parameters": {"stop": ["<|eot_id|>"]},
            "embedding_length": 2048,
        },
        (),
    ),
    (
        "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q8_0",
        {
            "parameter_size": "1.2B",
            "quantization_level": "Q8_0",
            "size": 1_321_083_104,
            "parameter_count": 1_235_814_432,
            "template": _LLAMA3_TEMPLATE,
            "parameters": {"stop": ["<|eot_id|>"]},
            "embedding_length": 2048,
        },
        (),
    ),
]
