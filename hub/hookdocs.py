"""The hook reference of docs/plugins.md, rendered from the docstrings of :mod:`hub.hookspecs`.

The docstrings are the one source; the page holds a rendered copy between two markers, and
``tests/test_docs.py`` fails when the copy differs from a fresh rendering. After editing a
hookspec, run::

    python -m hub.hookdocs           # rewrite the reference in docs/plugins.md
    python -m hub.hookdocs --check   # exit 1 if the page is stale

The docstrings use the reST of pytest's hookspecs, of which this renders a little: inline
code and roles (``:class:``, ``:func:``...; a ``~`` keeps the last name) become code, the
``:param x:``, ``:returns:`` and ``:raises E:`` fields a list, and a paragraph ending in ``::``
opens a Python code block.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from hub import hookspecs

PAGE = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
BEGIN = ("<!-- Generated from the docstrings of hub/hookspecs.py by `python -m hub.hookdocs`: "
         "edit those, not this text. -->")
END = "<!-- End of the generated hook reference. -->"

_ROLE = re.compile(r":(?:class|func|meth|attr|exc|mod|data|obj):`(~?)([^`]+)`")
_FIELD = re.compile(r":(param|returns|raises)\s*([^:]*):\s*(.*)")


def hook_functions(module: ModuleType = hookspecs) -> list[Callable[..., object]]:
    """The ``hub_*`` hookspecs of ``module``, in the order they are declared."""
    found = [fn for name, fn in inspect.getmembers(module, inspect.isfunction) if name.startswith("hub_")]
    return sorted(found, key=lambda fn: fn.__code__.co_firstlineno)


def heading(hook: Callable[..., object]) -> str:
    """``### `hub_x(a, b)```: the hook's name and its arguments in order."""
    return f"### `{hook.__name__}({', '.join(inspect.signature(hook).parameters)})`"


def render(module: ModuleType = hookspecs) -> str:
    """The hook reference: the module docstring's body, then one section per hook."""
    intro = inspect.cleandoc(module.__doc__ or "").partition("\n\n")[2]
    parts = [markdown(intro)]
    for hook in hook_functions(module):
        parts.append(heading(hook) + "\n\n" + markdown(inspect.getdoc(hook) or ""))
    return "\n\n".join(parts) + "\n"


def markdown(docstring: str) -> str:
    """One docstring (already dedented) as Markdown."""
    out: list[str] = []
    lines = docstring.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        field = _FIELD.fullmatch(line)
        if line.rstrip().endswith("::"):
            text = line.rstrip()[:-2].rstrip()
            if text:
                out += [_inline(text) + ":", ""]
            i += 1
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
                block.append(lines[i])
                i += 1
            out += ["```python", inspect.cleandoc("\n".join(block)), "```"]
            if i < len(lines):
                out.append("")
            continue
        if field:
            kind, name, text = field.groups()
            i += 1
            while i < len(lines) and lines[i].startswith(" ") and lines[i].strip():
                text += "\n  " + lines[i].strip()
                i += 1
            label = {"param": f"`{name.strip()}`", "returns": "Returns", "raises": f"Raises `{name.strip()}`"}
            out.append(f"- {label[kind]}: {_inline(text)}")
            continue
        out.append(_inline(line))
        i += 1
    return "\n".join(out).strip()


def _inline(text: str) -> str:
    text = _ROLE.sub(lambda m: f"`{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}`", text)
    return text.replace("``", "`")


def update(page: str, reference: str) -> str:
    """``page`` with the text between the markers replaced by ``reference``."""
    begin, end = page.find(BEGIN), page.find(END)
    if begin < 0 or end < begin:
        raise ValueError(f"docs/plugins.md lacks the markers of the hook reference: {BEGIN} ... {END}")
    return page[: begin + len(BEGIN)] + "\n\n" + reference + "\n" + page[end:]


def main(argv: Sequence[str] = ()) -> int:
    text = PAGE.read_text(encoding="utf-8")
    fresh = update(text, render())
    if "--check" in argv:
        if fresh != text:
            print(f"{PAGE} is stale: run python -m hub.hookdocs", file=sys.stderr)
            return 1
        return 0
    if fresh != text:
        PAGE.write_text(fresh, encoding="utf-8")
        print(f"rewrote the hook reference in {PAGE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
