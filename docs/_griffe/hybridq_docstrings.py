"""Griffe extension of the docs build: reads hybridq's docstrings as Markdown.

hybridq's docstrings are Google style with two reStructuredText habits that Markdown does not
read: doctest blocks (``>>>`` lines) outside an ``Examples:`` section, and Sphinx roles such as
``:class:`~hybridq.sim.Op```. This extension turns the first into ``pycon`` code blocks and the
second into mkdocstrings cross-references, which are resolved in the documented object's scope,
so that a role naming a missing (or undocumented) object fails ``mkdocs build --strict``.
"""

from __future__ import annotations

import re

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|exc|data|obj|const):`(~?)([^`<>]+?)(?:\(\))?`")
DIRECTIVE = re.compile(r"\s*#\s*doctest:.*$")


def _role(match: re.Match) -> str:
    short, target = match.groups()
    title = target.rsplit(".", 1)[-1] if short else target
    return f"[`{title}`][{target}]"


def to_markdown(text: str) -> str:
    """Fence the doctest blocks of a docstring and turn its Sphinx roles into cross-references.

    >>> to_markdown("See :func:`~a.b.f`.")
    'See [`f`][a.b.f].'
    >>> to_markdown(">>> f(1)  # doctest: +SKIP\\n2")
    '\\n```pycon\\n>>> f(1)\\n2\\n```\\n'
    """
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].startswith(">>>"):
            out.append(ROLE.sub(_role, lines[i]))
            i += 1
            continue
        block = []
        while i < len(lines) and lines[i].strip():
            line = DIRECTIVE.sub("", lines[i]) if lines[i].startswith((">>>", "...")) else lines[i]
            block.append("" if line.strip() == "<BLANKLINE>" else line)
            i += 1
        out += ["", "```pycon", *block, "```", ""]
    return "\n".join(out)


class HybridqDocstrings(griffe.Extension):
    """Rewrites every docstring with :func:`to_markdown` as the package is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)

