"""The tutorials in docs/ run: every ```python block of every docs/**/*.md, in order, in one
namespace per file, in a fresh working directory with fixed seeds and matplotlib's Agg backend
(the convention is in docs/build.py and docs/README.md). A block that raises, or prints something
other than the ```output block after it, fails the test with the file and the block's line; so
does an image the page shows that its code did not write, and a relative link to a missing file."""

import importlib.util
import pathlib
import re

import pytest

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"


def load_build():
    spec = importlib.util.spec_from_file_location("docs_build", DOCS / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = load_build()
PAGES = build.markdown_files()
PAGES_WITH_CODE = [page for page in PAGES if build.parse_blocks(page.read_text(encoding="utf-8"))]


def page_param(page):
    marks = [pytest.mark.slow] if build.SLOW in page.read_text(encoding="utf-8") else []
    return pytest.param(page, id=str(page.relative_to(DOCS)), marks=marks)


def test_the_docs_have_the_tutorials():
    names = {page.relative_to(DOCS).as_posix() for page in PAGES_WITH_CODE}
    tutorials = ("01_one_neuron_by_hand", "02_xor_and_the_delta_recursion", "03_vanishing_gradients",
                 "04_choosing_a_learning_rate", "05_fighting_overfitting")  # fmt: skip
    assert {f"tutorials/{name}.md" for name in tutorials} <= names


@pytest.mark.parametrize("page", [page_param(page) for page in PAGES_WITH_CODE])
def test_tutorial_code_runs_and_prints_what_the_page_says(page, tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("sklearn")
    try:
        count = build.run_file(page, tmp_path)
    except build.DocError as error:
        pytest.fail(str(error), pytrace=False)
    assert count > 0
    for figure in build.referenced_figures(page.read_text(encoding="utf-8")):
        assert (tmp_path / figure).stat().st_size > 1000, f"{figure} is (almost) empty"


@pytest.mark.parametrize("page", [pytest.param(page, id=str(page.relative_to(DOCS))) for page in PAGES])
def test_relative_links_and_images_point_at_committed_files(page):
    """The figures the code writes are committed next to the page by `python docs/build.py`."""
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", text):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (page.parent / target).exists(), f"{page.relative_to(DOCS)} links to {target}, which does not exist"


# ---------------------------------------------------------------- the harness itself
PAGE = """# A page

```python
x = 2
print(x * 21)
```

prints

```output
42
```

<!-- no-test -->
```python
raise RuntimeError("skipped, so never raised")
```

```python
print(x + 1)
```

```bash
echo not python, not run
```
"""


def test_blocks_are_found_in_order_with_their_lines_outputs_and_skips():
    blocks = build.parse_blocks(PAGE)
    assert [block.line for block in blocks] == [4, 16, 20]
    assert [block.skipped for block in blocks] == [False, True, False]
    assert blocks[0].expected_output == "42" and blocks[2].expected_output is None


def write(tmp_path, text):
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    return page, work


def test_a_page_runs_in_one_namespace_and_its_outputs_are_checked(tmp_path):
    assert build.run_file(*write(tmp_path, PAGE)) == 2


def test_a_failing_block_is_reported_with_the_file_and_the_line(tmp_path):
    page, work = write(tmp_path, PAGE.replace("print(x + 1)", "print(x + 1)\nundefined_name"))
    with pytest.raises(build.DocError, match=r"page\.md: the python block at line 20 failed") as raised:
        build.run_file(page, work)
    assert 'page.md", line 21' in str(raised.value)  # the traceback counts the Markdown file's lines
    assert "NameError" in str(raised.value)


def test_printing_something_else_than_the_output_block_fails(tmp_path):
    page, work = write(tmp_path, PAGE.replace("42\n```", "43\n```"))
    with pytest.raises(build.DocError, match=r"line 4 printed\n42\nbut its ```output block says\n43"):
        build.run_file(page, work)


def test_an_image_the_code_does_not_write_fails(tmp_path):
    page, work = write(tmp_path, PAGE + "\n![curves](figures/missing.png)\n")
    with pytest.raises(build.DocError, match=r"figures/missing\.png"):
        build.run_file(page, work)


def test_an_unclosed_fence_and_a_stray_output_block_are_errors(tmp_path):
    with pytest.raises(build.DocError, match="never closed"):
        build.run_file(*write(tmp_path, "```python\nprint(1)\n"))
    with pytest.raises(ValueError, match="does not follow a ```python block"):
        build.parse_blocks("```output\n1\n```\n")


def test_the_code_runs_in_the_working_directory_with_fixed_seeds(tmp_path):
    page, work = write(
        tmp_path,
        "```python\nimport os, chainrule as cr\nopen('here.txt', 'w').write(os.getcwd())\n"
        "print(cr.rand(3).tolist() == (cr.manual_seed(0), cr.rand(3).tolist())[1])\n```\n\n```output\nTrue\n```\n",
    )
    build.run_file(page, work)
    assert (work / "here.txt").read_text() == str(work)
