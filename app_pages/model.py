"""Which model is loaded, what it was trained on, how well it did, and how to get another."""
from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from geoloc_core.learning.metrics import THRESHOLDS_KM
from ui import resources
from ui.model_fetch import fetch_panel
from ui.plaintext import markdown_literal
from ui.prompt_progress import prompt_panel
from ui.settings import page_settings



def regressor_facts(predictor, path: str) -> None:
    config = predictor.model.config
    st.markdown(f"**Loaded** on {markdown_literal(predictor.device)}:")
    st.code(path, language=None)  # literal: no Markdown escapes shown in the path
    facts = [("Backbone", config.backbone_name_or_path), ("Backbone bundled in folder", config.backbone_bundled),
             ("Backbone outputs used", config.feature_source), ("Location head", f"{config.num_head_layers} Transformer "
             f"encoder layers, width {config.head_width}"), ("Output", config.output_mode),
             ("Candidate locations (mixture components)", config.num_components),
             ("Uncertainty (how the radius around a prediction is computed)", config.uncertainty),
             ("Calibration scale (kappa: widens or narrows the radius so that 90 % of validation photos fell "
              "inside their 90 % region)", f"{config.kappa_scale:.4g}")]
    st.dataframe(pd.DataFrame([(k, str(v)) for k, v in facts], columns=["property", "value"]), hide_index=True)
    st.markdown("**Trained on**")
    st.code(json.dumps(config.trained_on, indent=2) if config.trained_on else "not recorded", language="json")
    split = "test" if (config.evaluation or {}).get("test") else "validation"  # test: data that fitted nothing
    evaluation = (config.evaluation or {}).get(split)
    if evaluation:
        st.markdown(f"**Evaluation ({'held-out test' if split == 'test' else 'validation'} split), % within distance**")
        row = {f"{n} {t:g} km": round(evaluation["within_pct"][n], 2) for n, t in THRESHOLDS_KM}
        row |= {"median km": round(evaluation["median_km"], 1), "GeoScore": round(evaluation["geoscore"]),
                "50 % coverage": evaluation.get("coverage50_pct"), "90 % coverage": evaluation.get("coverage90_pct")}
        st.dataframe(pd.DataFrame([row]), hide_index=True)
        st.caption(markdown_literal(evaluation.get("convention_text", "")))
        st.caption("Median km: half of the validation photos were predicted closer than this; the banner shows it "
                   "beside each verdict as the model's typical error. 90 % coverage: how often the true place fell "
                   "inside the model's 90 % region (calibrated: close to 90).")


def zero_shot_facts(predictor, path: str) -> None:
    """A full CLIP checkpoint used zero-shot: its recipe, prompts and candidate places."""
    config, places = predictor.config, predictor.candidates
    st.markdown(f"**Loaded (zero-shot CLIP)** on {markdown_literal(predictor.device)}:")
    st.code(path, language=None)
    recipe = ("country, then every city of the top {n} countries (StreetCLIP's paper recipe)" if config.paper else
              "country, then regions in the top {n} countries, then cities in their top {r} regions (hierarchy)")
    facts = [("Recipe", recipe.format(n=config.top_countries, r=config.top_regions)),
             ("Country prompt", config.country_template), ("Region prompt", config.region_template),
             ("City prompt", config.effective_city_template),
             ("Candidate places", f"{len(places.country_codes)} countries, {len(places.region_names)} regions, "
              f"{len(places.city_names):,} cities ({places.source})"),
             ("Regions", f"smallest candidate set holding {config.credible_mass:.0%} of the posterior; uncalibrated"),
             ("Prompt embeddings", f"{predictor.store.status()} ({predictor.store.folder})")]
    st.dataframe(pd.DataFrame([(k, str(v)) for k, v in facts], columns=["property", "value"]), hide_index=True)
    prompt_panel(predictor)


settings = page_settings()
st.title("Model")
for error in (settings.model_error, settings.second_model_error):  # each witness's own
    if error:
        st.error(markdown_literal(error))  # it quotes the typed path (a link's ?model=)
if not settings.analysis.model_path and not settings.analysis.second_model_path:
    st.info("No model is loaded. geoloc still reads metadata, geocodes, maps, verifies what it can and exports; "
            "it does not predict locations, and it never shows a placeholder point.")
for path in (settings.analysis.model_path, settings.analysis.second_model_path):
    if path:
        predictor = resources.predictor(path, settings.analysis.allow_model_download)
        if predictor.kind == "zero-shot":
            zero_shot_facts(predictor, path)
        else:
            regressor_facts(predictor, path)
st.markdown("""
### Loading a model
Enter the path of a model folder in the sidebar, or start the app with ``GEOLOC_MODEL=/path/to/model make run``:
a trained geoloc model (``config.json`` + ``model.safetensors``), or a full CLIP checkpoint with its text tower
(e.g. ``geolocal/StreetCLIP``, downloaded below), which predicts zero-shot from location prompts. Give one of
each (the second in "Second witness") and every result shows both witnesses side by side. A model loads once
per server and is shared by every browser session.

### Training one
See ``training/README.md``: a CSV of geotagged images, ``python -m training.train --config ...`` on a GPU,
then ``python -m training.evaluate`` for the table in the thesis's form (% within 1 / 25 / 200 / 750 / 2500 km).
""")
fetch_panel(settings.analysis.allow_model_download)
