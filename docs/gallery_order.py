"""The gallery's order: first steps first (sphinx-gallery's within_subsection_order)."""

ORDER = [
    "plot_quickstart.py",
    "plot_sensitivity.py",
    "plot_inverse_design.py",
    "plot_fine_tuning.py",
    "plot_classifier_boundary.py",
    "plot_compressor_front.py",
    "plot_inspect_build.py",
    "plot_grid_search.py",
    "plot_gradient_tutorial.py",
]


class ExampleOrder:
    """Sort key: an example's place in ORDER; examples not listed come last, by name."""

    def __init__(self, src_dir: str):
        self.src_dir = src_dir

    def __repr__(self) -> str:  # sphinx-gallery caches on it
        return f"<{type(self).__name__}: {ORDER}>"

    def __call__(self, filename: str):
        return (ORDER.index(filename), "") if filename in ORDER else (len(ORDER), filename)
