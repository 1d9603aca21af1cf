"""Run the tutorials' code and write their figures next to them; the test suite runs the same code.

The convention (docs/README.md explains it to writers):

- Every fenced block tagged exactly ```python in a Markdown file under docs/ runs, in the order of
  the file, in one namespace per file (later blocks see what earlier ones defined).
- A block whose previous non-blank line is ``<!-- no-test -->`` is skipped (for code that needs
  something CI lacks, or shows a fragment).
- A block tagged ```output is what the python block before it prints (prose may stand between them,
  another code block may not): the run fails when the printed text differs (trailing spaces and
  blank lines aside).
  Blocks tagged anything else (```text, ```bash, ...) are only shown.
- The code runs in a working directory of its own, with ``cr.manual_seed(0)``, NumPy's and Python's
  global seeds set to 0, matplotlib's Agg backend and the repository's examples/ folder importable.
  A figure is written to a relative path, ``figures/<name>.png``; every image a file shows with
  ``![...](figures/...)`` must be written by its code.
- A file containing ``<!-- test: slow -->`` takes more than a few seconds; its test is marked slow.

``python docs/build.py`` runs every tutorial with its own folder as the working directory, so the
figures land in e.g. docs/tutorials/figures/, where the Markdown links to them; commit them.
``python docs/build.py docs/tutorials/01_one_neuron_by_hand.md`` builds one file.
"""

import contextlib
import io
import os
import pathlib
import random
import re
import sys
import traceback
from dataclasses import dataclass

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
EXAMPLES = ROOT / "examples"

FENCE = re.compile(r"^```\s*([\w+-]*)\s*$")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
SKIP = "<!-- no-test -->"
SLOW = "<!-- test: slow -->"


@dataclass
class Block:
    """One fenced code block: its tag, its first code line (1-based, in the Markdown file) and text."""

    tag: str
    line: int
    code: str
    skipped: bool = False
    expected_output: str = None  # the ```output block that follows, if any


class DocError(Exception):
    """A tutorial's block failed or printed something other than its ```output block."""


def markdown_files():
    """Every Markdown file under docs/, sorted."""
    return sorted(DOCS.rglob("*.md"))


def parse_blocks(text):
    """The fenced blocks of Markdown ``text`` as :class:`Block` s; an ```output block is attached to
    the python block before it. Raises ValueError for a fence that is never closed."""
    lines = text.split("\n")
    blocks = []
    index = 0
    previous = ""  # the last non-blank line outside a block
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            if lines[index].strip():
                previous = lines[index].strip()
            index += 1
            continue
        start = index
        index += 1
        while index < len(lines) and lines[index].rstrip() != "```":
            index += 1
        if index == len(lines):
            raise ValueError(f"the code block opened at line {start + 1} is never closed")
        code = "\n".join(lines[start + 1 : index])
        blocks.append(Block(match.group(1), start + 2, code, skipped=previous == SKIP))
        previous = "```"
        index += 1
    python_blocks = []
    for before, block in zip([None, *blocks], blocks):
        if block.tag == "python":
            python_blocks.append(block)
        elif block.tag == "output":
            if before is None or before.tag != "python":
                raise ValueError(f"the ```output block at line {block.line - 1} does not follow a ```python block")
            before.expected_output = block.code
    return python_blocks


def referenced_figures(text):
    """Relative image paths that ``text`` shows, e.g. ['figures/curves.png']."""
    return [path for path in IMAGE.findall(text) if "://" not in path]


def _normalise(output):
    return "\n".join(line.rstrip() for line in output.strip("\n").split("\n")).strip("\n")


def _seed_everything():
    import numpy as np

    import chainrule as cr

    cr.manual_seed(0)
    np.random.seed(0)
    random.seed(0)


@contextlib.contextmanager
def _tutorial_environment(workdir):
    """Working directory ``workdir``, examples/ importable, matplotlib on Agg; all undone afterwards."""
    old_cwd, old_path, old_backend = os.getcwd(), list(sys.path), os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        pass
    sys.path.insert(0, str(EXAMPLES))
    os.chdir(workdir)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path
        if old_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = old_backend
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")


def run_file(path, workdir, echo=False):
    """Run the python blocks of the Markdown file ``path`` in ``workdir``; returns the number of
    blocks run. Raises DocError naming the file and the block's line when a block fails, prints
    something other than its ```output block, or a figure the file shows is not written."""
    path = pathlib.Path(path)
    name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    text = path.read_text(encoding="utf-8")
    try:
        blocks = [block for block in parse_blocks(text) if not block.skipped]
    except ValueError as error:
        raise DocError(f"{name}: {error}") from None
    namespace = {"__name__": "__main__"}
    _seed_everything()
    with _tutorial_environment(workdir):
        for block in blocks:
            # leading newlines make a traceback's line numbers those of the Markdown file
            code = compile("\n" * (block.line - 1) + block.code, str(name), "exec")
            printed = io.StringIO()
            try:
                with contextlib.redirect_stdout(printed):
                    exec(code, namespace)
            except Exception as error:
                details = "".join(traceback.format_exception(error))
                raise DocError(
                    f"{name}: the python block at line {block.line} failed:\n{details}{_tail(printed)}"
                ) from error
            if echo:
                print(printed.getvalue(), end="")
            if block.expected_output is not None:
                got, expected = _normalise(printed.getvalue()), _normalise(block.expected_output)
                if got != expected:
                    raise DocError(
                        f"{name}: the python block at line {block.line} printed\n{got}\n"
                        f"but its ```output block says\n{expected}"
                    )
        missing = [figure for figure in referenced_figures(text) if not pathlib.Path(figure).is_file()]
    if missing:
        raise DocError(f"{name}: shows {missing}, which its code did not write (relative to the working directory)")
    return len(blocks)


def _tail(printed):
    output = printed.getvalue()
    return f"its output so far:\n{output[-2000:]}" if output else ""


def main(arguments):
    paths = [pathlib.Path(argument).resolve() for argument in arguments] or markdown_files()
    failed = 0
    for path in paths:
        print(f"== {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", flush=True)
        try:
            count = run_file(path, path.parent, echo=True)
        except DocError as error:
            print(error, file=sys.stderr)
            failed += 1
            continue
        figures = referenced_figures(path.read_text(encoding="utf-8"))
        print(f"   {count} blocks ran" + (f"; wrote {', '.join(figures)}" if figures else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
