"""The README is the front door (short, and rendered on PyPI); docs/ holds the rest, and its links resolve.

PyPI renders README.md as the package's long description: it draws no mermaid and resolves no relative
link, so the README links absolutely, to the project's files on GitHub. The construct reference in
docs/construct.md must name every parameter of ``InferenceRecommenderPipeline`` (with its annotated type)
and every public attribute and method.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from neo_recommender import pipeline

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CONSTRUCT_REFERENCE = DOCS / "construct.md"
#: Where the README's links to this repository's files point (pyproject's project URL, the main branch).
BLOB = "https://github.com/neo-recommender/neo-recommender/blob/main/"
MAX_README_LINES = 250

#: An inline Markdown link or image: ``[text](target)`` (the target up to a space or the closing parenthesis).
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
#: A reference-style link definition: ``[label]: target``.
LINK_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.MULTILINE)
FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[ \t]*$", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def _prose(text: str) -> str:
    """``text`` without fenced code blocks and inline code spans (their brackets are not links)."""
    return re.sub(r"`+[^`\n]*`+", "", FENCE.sub("", text))


def _links(text: str) -> list[str]:
    prose = _prose(text)
    return LINK.findall(prose) + LINK_DEFINITION.findall(prose)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    heading = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    return re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    anchors: set[str] = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        slug, n = _slug(heading), 0
        while (slug if n == 0 else f"{slug}-{n}") in anchors:  # GitHub numbers repeated headings
            n += 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def _check_target(path: Path, fragment: str, source: str) -> None:
    assert path.exists(), f"{source} links to {path.relative_to(ROOT)}, which does not exist"
    if fragment and path.suffix == ".md":
        assert unquote(fragment) in _anchors(path), (
            f"{source} links to {path.relative_to(ROOT)}#{fragment}: no such heading")


def test_the_readme_is_at_most_250_lines() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; move sections into docs/"


def test_the_readme_has_no_mermaid_block() -> None:
    # PyPI shows a mermaid block as its source text; the README's diagram is a ```text block.
    assert not re.search(r"^ {0,3}(```|~~~)\s*mermaid", README.read_text(encoding="utf-8"), re.MULTILINE)


def test_every_readme_link_is_absolute_or_an_anchor_of_the_readme() -> None:
    links = _links(README.read_text(encoding="utf-8"))
    assert links, "no links found: the link pattern is broken"
    anchors = _anchors(README)
    for target in links:
        if target.startswith("#"):
            assert target[1:] in anchors, f"README.md links to {target}: no such heading"
        else:
            assert re.match(r"https?://", target), f"README.md links to {target!r}: PyPI needs absolute links"


def test_every_page_the_readme_links_into_this_repository_exists() -> None:
    linked = [target for target in _links(README.read_text(encoding="utf-8")) if target.startswith(BLOB)]
    assert any(target.startswith(BLOB + "docs/") for target in linked), "the README links to no docs/ page"
    for target in linked:
        path, _, fragment = target[len(BLOB):].partition("#")
        _check_target(ROOT / unquote(path), fragment, "README.md")


def test_every_docs_page_is_linked_from_the_readme_or_the_docs_index() -> None:
    linked = {target.partition("#")[0] for target in _links(README.read_text(encoding="utf-8"))}
    linked |= {BLOB + "docs/" + target.partition("#")[0] for target in _links((DOCS / "README.md").read_text())}
    for page in sorted(DOCS.glob("*.md")):
        if page.name != "README.md":
            assert BLOB + f"docs/{page.name}" in linked, f"docs/{page.name} is linked from nowhere"


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.md")), ids=lambda page: page.name)
def test_every_relative_link_in_the_docs_resolves(page: Path) -> None:
    links = _links(page.read_text(encoding="utf-8"))
    assert links, f"docs/{page.name} has no links: the link pattern is broken, or the page is an island"
    for target in links:
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path, _, fragment = target.partition("#")
        _check_target((page.parent / unquote(path)).resolve() if path else page, fragment, f"docs/{page.name}")


def _table_rows(heading: str) -> dict[str, list[str]]:
    """The rows of the first table under ``## heading`` in the construct reference, by their first cell."""
    text = CONSTRUCT_REFERENCE.read_text(encoding="utf-8")
    section = text[text.index(f"\n## {heading}\n"):]
    section = section[:section.find("\n## ", 1)] if "\n## " in section[1:] else section
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        cells = [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1])]
        name = re.fullmatch(r"`([A-Za-z_]+)(?:\(.*\))?`", cells[0])
        if name:
            rows[name.group(1)] = cells[1:]
    return rows


def test_the_construct_reference_lists_every_parameter_with_its_type() -> None:
    parameters = inspect.signature(pipeline.InferenceRecommenderPipeline.__init__).parameters
    rows = _table_rows("Props")
    for name, parameter in parameters.items():
        if name == "self":
            continue
        assert name in rows, f"docs/construct.md's Props table does not list {name}"
        assert rows[name][0] == f"`{parameter.annotation}`", (
            f"docs/construct.md gives {name} the type {rows[name][0]}; the code says {parameter.annotation}")
    assert set(rows) <= set(parameters), f"documented props that do not exist: {set(rows) - set(parameters)}"


def _public_members() -> tuple[dict[str, str | None], set[str]]:
    """Public attributes (with their annotation, if any) and public methods of the construct, from its source."""
    tree = ast.parse(Path(inspect.getfile(pipeline)).read_text(encoding="utf-8"))
    (cls,) = [node for node in tree.body
              if isinstance(node, ast.ClassDef) and node.name == "InferenceRecommenderPipeline"]
    attributes: dict[str, str | None] = {}
    methods: set[str] = set()
    for function in (node for node in cls.body if isinstance(node, ast.FunctionDef)):
        if any(isinstance(d, ast.Name) and d.id == "property" for d in function.decorator_list):
            attributes[function.name] = ast.unparse(function.returns) if function.returns else None
        elif not function.name.startswith("_"):
            methods.add(function.name)
        for node in ast.walk(function) if function.name == "__init__" else ():
            targets = ([node.target] if isinstance(node, ast.AnnAssign)
                       else node.targets if isinstance(node, ast.Assign) else [])
            for target in targets:
                for element in target.elts if isinstance(target, ast.Tuple) else [target]:
                    if (isinstance(element, ast.Attribute) and isinstance(element.value, ast.Name)
                            and element.value.id == "self" and not element.attr.startswith("_")):
                        annotation = ast.unparse(node.annotation) if isinstance(node, ast.AnnAssign) else None
                        attributes[element.attr] = attributes.get(element.attr) or annotation
    return attributes, methods


def test_the_construct_reference_lists_every_public_attribute_and_method() -> None:
    attributes, methods = _public_members()
    assert {"bucket", "table", "state_machine", "all_functions"} <= set(attributes)  # the parse works
    rows = _table_rows("Properties")
    for name, annotation in attributes.items():
        assert name in rows, f"docs/construct.md's Properties table does not list {name}"
        if annotation is not None:
            assert rows[name][0] == f"`{annotation}`", f"{name}: documented {rows[name][0]}, annotated {annotation}"
    assert set(rows) <= set(attributes), f"documented attributes that do not exist: {set(rows) - set(attributes)}"
    documented_methods = _table_rows("Methods")
    assert methods == set(documented_methods), f"methods: code {sorted(methods)}, docs {sorted(documented_methods)}"
