"""Playing conversations against models: where answers come from, the runner (compare and
switch modes), the interactive chat, and the Markdown, HTML and JSON reports."""
