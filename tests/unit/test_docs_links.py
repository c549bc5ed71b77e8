"""The docs lead somewhere: every relative link of every markdown file of the repository (`[text](path)`,
`[text](path#anchor)`, `[text](#anchor)`) names a file or folder that exists, relative to the file it is in, and an
anchor names a heading of its target as GitHub slugs it. Links in code (fenced or indented blocks, `spans`) are not
links; http(s) and mailto links are not fetched. And the README stays a page read in minutes."""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.conftest import REPO_ROOT

README_MAX_WORDS = 800
# Folders that hold no docs of the project: installed packages, caches, the sandbox's state, build output.
SKIPPED_FOLDERS = {"build", "collections", "dist", "node_modules", "__pycache__"}

_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_ATX_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_HTML_ANCHOR = re.compile(r"""<a\s[^>]*?(?:name|id)=["']([^"']+)["']""", re.I)
# A code span: a run of backticks, then anything up to the same run, within one paragraph.
_CODE_SPAN = re.compile(r"(`+)(?:(?!\n[ \t]*\n).)+?\1", re.S)
# [text](target) or ![alt](target), with an optional <> around the target and an optional "title".
_LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def markdown_files() -> list[Path]:
    """Every markdown file of the repository, outside hidden folders (.venv, .sandbox, .git) and build output, which
    are not walked at all."""
    found = []
    for folder, subfolders, files in os.walk(REPO_ROOT):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".") and d not in SKIPPED_FOLDERS)
        found += [Path(folder) / name for name in files if name.endswith(".md")]
    return sorted(found)


def prose(text: str) -> list[str]:
    """The lines of a markdown text with code blocks blanked (fenced, and indented by four after a blank line),
    so that line numbers stay those of the file."""
    lines = text.split("\n")
    out: list[str] = []
    fence = ""
    previous_blank, in_indented = True, False
    for line in lines:
        if fence:
            out.append("")
            if line.lstrip().startswith(fence):
                fence = ""
            continue
        match = _FENCE.match(line)
        if match:
            fence = match.group(1)
            out.append("")
            previous_blank, in_indented = False, False
            continue
        blank = not line.strip()
        indented = line.startswith(("    ", "\t"))
        if indented and (previous_blank or in_indented):
            in_indented = True
            out.append("")
        else:
            in_indented = in_indented and blank
            out.append(line)
        previous_blank = blank
    return out


def without_code_spans(text: str) -> str:
    """The text with each code span's characters turned to spaces (its newlines kept, so offsets keep their line)."""
    return _CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: its rendered text, lowercased, punctuation removed, each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link or image: its text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.replace("`", "").replace("*", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    """The anchors GitHub gives a markdown file's headings (a repeated heading's get -1, -2, ...), and any
    <a name/id> in it."""
    lines = prose(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    seen: dict[str, int] = {}
    for index, line in enumerate(lines):
        match = _ATX_HEADING.match(line)
        heading = match.group(1) if match else None
        if heading is None and index > 0 and _SETEXT_UNDERLINE.match(line):
            above = lines[index - 1]
            if above.strip() and not above.lstrip().startswith(("|", "-", "*", "#", ">")):
                heading = above.strip()
        if heading is not None:
            base = slug(heading)
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
        found.update(m.lower() for m in _HTML_ANCHOR.findall(line))
    return frozenset(found)


def broken_links(path: Path) -> list[str]:
    """Each relative link of the file that leads nowhere, as `file:line: [text](target): what is missing`."""
    text = without_code_spans("\n".join(prose(path.read_text(encoding="utf-8"))))
    problems = []
    for match in _LINK.finditer(text):
        target = match.group(2)
        if not target or _SCHEME.match(target) or target.startswith("//"):
            continue  # http(s), mailto and the like: not checked here
        line = text.count("\n", 0, match.start()) + 1
        where = f"{path.relative_to(REPO_ROOT)}:{line}: {match.group(0)}"
        file_part, _, anchor = target.partition("#")
        file_part = unquote(file_part)
        if file_part:
            base = REPO_ROOT if file_part.startswith("/") else path.parent
            destination = (base / file_part.lstrip("/")).resolve()
        else:
            destination = path
        if not destination.exists():
            shown = destination.relative_to(REPO_ROOT) if destination.is_relative_to(REPO_ROOT) else destination
            problems.append(f"{where}: {shown} does not exist")
            continue
        checks_anchor = anchor and destination.suffix == ".md" and destination.is_file()
        if checks_anchor and unquote(anchor).lower() not in anchors(destination):
            headings = ", ".join(sorted(anchors(destination))) or "none"
            problems.append(
                f"{where}: no heading of {destination.relative_to(REPO_ROOT)} has the anchor #{anchor} "
                f"(its anchors: {headings})"
            )
    return problems


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(path: Path) -> None:
    problems = broken_links(path)
    assert not problems, f"{len(problems)} broken link(s):\n" + "\n".join(problems)


def test_the_docs_are_found_where_readers_look():
    files = {str(p.relative_to(REPO_ROOT)) for p in markdown_files()}
    assert {"README.md", "docs/README.md", "docs/dev/README.md", "docs/runbooks/README.md"} <= files


def test_the_readme_stays_short():
    words = len((REPO_ROOT / "README.md").read_text(encoding="utf-8").split())
    assert words < README_MAX_WORDS, (
        f"README.md has {words} words (fewer than {README_MAX_WORDS} expected): it says what the project is, the two "
        "set-up commands, the verbs and where to read next; move detail to docs/ (operators) or docs/dev/ (developers)"
    )


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("The way back (ECS-native to CodeDeploy)", "the-way-back-ecs-native-to-codedeploy"),
        (
            "ECS (moto, patched in `sandbox/aws.py`; the data plane in `sandbox/ecs_agent.py`)",
            "ecs-moto-patched-in-sandboxawspy-the-data-plane-in-sandboxecs_agentpy",
        ),
        ("Set-up: two commands on a fresh machine", "set-up-two-commands-on-a-fresh-machine"),
        ("**Which** [controller](controllers.md)?", "which-controller"),
    ],
)
def test_an_anchor_is_the_heading_as_github_slugs_it(heading, anchor):
    assert slug(heading) == anchor


def test_links_in_code_are_not_links_and_missing_targets_are_named(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.REPO_ROOT", tmp_path)
    (tmp_path / "there.md").write_text("# A heading\n\n## A heading\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](there.md#a-heading-1) and `[code](gone.md)`\n\n    [indented](gone.md)\n\n"
        "```\n[fenced](gone.md)\n```\n[web](https://example.com/x) [mail](mailto:a@b.c)\n"
        "[missing](gone.md) [bad anchor](there.md#nowhere) [self](#nowhere-here)\n"
    )
    anchors.cache_clear()
    problems = broken_links(page)
    anchors.cache_clear()
    assert [p.split(": ", 1)[0] for p in problems] == ["page.md:9", "page.md:9", "page.md:9"]
    assert "gone.md does not exist" in problems[0]
    assert "#nowhere" in problems[1]
    assert "a-heading, a-heading-1" in problems[1]
    assert "#nowhere-here" in problems[2]
