"""The documentation's examples hold: every doctest of the pages under docs/.

``make docs`` runs them with Sphinx's doctest builder, which a test run
does not: pages whose examples no longer held (a warm start that "takes
fewer iterations", a fit that "diverges") went unnoticed. These run them
with the same flags (docs/conf.py).
"""

import doctest
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.DONT_ACCEPT_TRUE_FOR_1
# Written by the build (the gallery, API pages), or templates.
BUILT = {"auto_examples", "generated", "sg_execution_times.rst"}


def _pages():
    for page in sorted(DOCS.rglob("*.rst")):
        parts = page.relative_to(DOCS).parts
        if BUILT.isdisjoint(parts) and not any(p.startswith("_") for p in parts):
            if ">>>" in page.read_text(encoding="utf-8"):
                yield page


@pytest.mark.parametrize("page", list(_pages()), ids=lambda page: str(page.relative_to(DOCS)))
def test_the_examples_of_the_page_hold(page):
    # doctest prints each failure (expected and got), which pytest shows.
    failed, _ = doctest.testfile(
        str(page), module_relative=False, optionflags=FLAGS, encoding="utf-8"
    )
    assert failed == 0, f"{failed} example(s) of {page.name} failed; see the output above"
