"""Sphinx configuration of the skorch_lite documentation.

Built by ``make docs`` (HTML, then the doctest builder over the same
doctrees), with warnings as errors. Nothing here reaches the network, so a
fresh clone builds offline.
"""

import os
import sys
from datetime import date

# Document the checkout being built, not some installed copy.
sys.path.insert(0, os.path.abspath(".."))

import skorch_lite  # noqa: E402

project = "skorch_lite"
author = "the skorch_lite developers"
copyright = f"{date.today().year}, {author}"
release = skorch_lite.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"

# -- API reference -----------------------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"
# The class template lists the methods itself; numpydoc's own member tables
# would document every method twice.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# -- Doctests (``sphinx -b doctest``) -----------------------------------------
# The same flags as pytest's doctest run of the docstrings (pyproject.toml).
import doctest  # noqa: E402

doctest_default_flags = (
    doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.DONT_ACCEPT_TRUE_FOR_1
)

# -- Gallery -------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "sphinx_gallery.sorting.FileNameSortKey",
}

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skorch_lite {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"changelog": [], "benchmarks": [], "benchmarks/*": []}
html_static_path = []
