"""`python -m module_utils.iam > docs/iam.md` writes the IAM document."""

from .docs import docs_markdown

print(docs_markdown(), end="")
