"""Sphinx configuration: numpydoc API reference and a sphinx-gallery of the examples."""

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs"))  # gallery_order
os.environ.setdefault("MPLBACKEND", "Agg")

import sklearn_neureco  # noqa: E402

project = "sklearn-neureco"
author = "the sklearn-neureco developers"
copyright = "2026, " + author
release = version = sklearn_neureco.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # the pages carry MathJax: formulas render without a network
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
templates_path = ["_templates"]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# document the derivative API inherited from DerivativeMixin, not scikit-learn's base
autodoc_default_options = {
    "members": True,
    "inherited-members": "BaseEstimator,RegressorMixin,_MetadataRequester,object",
}
# no network here: cross-references to other projects' docs are not resolved
intersphinx_mapping = {}
nitpicky = False

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "within_subsection_order": "gallery_order.ExampleOrder",
    # "Examples using this" on each API page
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("sklearn_neureco",),
}

# the scikit-learn ecosystem's theme (scikit-learn, imbalanced-learn); the version in the
# title shows on every page
html_theme = "pydata_sphinx_theme"
# "fit()" in a page's table of contents, not "NeurEcoRegressor.fit()" cut at the margin
toc_object_entries_show_parents = "hide"
html_title = f"sklearn-neureco {version}"
# single pages have no section navigation: give their width to the text and tables
html_sidebars = {
    page: []
    for page in (
        "install",
        "getting_started",
        "user_guide",
        "deploying",
        "dask",
        "benchmarks",
        "changelog",
    )
}
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]

# scikit-learn's own plumbing, documented (with references into its docs) by scikit-learn
_SKLEARN_PLUMBING = {
    "score",
    "get_metadata_routing",
    "set_fit_request",
    "set_score_request",
    "set_predict_request",
    "set_output",
    "set_transform_request",
    "set_inverse_transform_request",
}


def _skip_sklearn_plumbing(app, what, name, obj, skip, options):
    if name in _SKLEARN_PLUMBING:
        return True
    # fitted attributes are documented once, in the class's Attributes section
    if what == "class" and name.endswith("_") and not name.startswith("_"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_plumbing)
