"""modelops: LLM model definitions managed the GitOps way."""

__version__ = "0.1.0"
