"""Sphinx configuration: the Markdown pages (README.md and docs/*.md) through MyST.

``make docs`` builds them with ``-W --keep-going -n``: every warning fails the build, and
every cross-reference must resolve.  Nothing is fetched (no intersphinx): names outside
jsonvisor in the API's signatures are not checked.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "src")))

import jsonvisor

project = "jsonvisor"
author = "the jsonvisor authors"
copyright = "the jsonvisor authors"
release = version = jsonvisor.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# MyST: GitHub's heading anchors, so that links like guide.md#section work both on GitHub
# and here (a missing anchor is a warning, so a build error).
myst_heading_anchors = 4
highlight_language = "none"  # a fence without a language is plain text

# The API reference (docs/api.md).
autodoc_member_order = "bysource"
autodoc_typehints = "description"  # the types of documented parameters, not of internals
autodoc_typehints_description_target = "documented_params"
nitpicky = True
# Offline: references into other projects (the standard library, trio, AnyIO...) cannot be
# resolved without intersphinx, so only jsonvisor's own names are checked.
nitpick_ignore_regex = [(r"py:.*", r"(?!jsonvisor\b).*")]

html_theme = "alabaster"
html_title = f"jsonvisor {release}"
html_theme_options = {
    "description": "streamed, incomplete JSON into live partial values",
    "page_width": "1240px",  # room for 100-column code
    "sidebar_width": "220px",
    "body_max_width": "none",
}


def _internal_type(app, env, node, contnode):
    """A type in a signature or annotation that names a jsonvisor internal (``queue:
    EventQueue``) is shown as text; a reference written in prose must still resolve.
    Annotation references carry no source line, prose ones do."""
    target = node.get("reftarget", "")
    if target.startswith("jsonvisor.") and node.source is None and node.get("py:module"):
        return contnode
    return None


def setup(app):
    app.connect("missing-reference", _internal_type)
