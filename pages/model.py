"""Which model is loaded, what it was trained on, how well it did, and how to get another."""
from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from geoloc_core.learning.metrics import THRESHOLDS_KM
from ui import resources
from ui.views import md_escape

settings = st.session_state["settings"]
st.title("Model")
if settings.model_error:
    st.error(settings.model_error)
if not settings.analysis.model_path:
    st.info("No model is loaded. geoloc still reads metadata, geocodes, maps, verifies what it can and exports; "
            "it does not predict locations, and it never shows a placeholder point.")
else:
    predictor = resources.predictor(settings.analysis.model_path)
    config = predictor.model.config
    st.markdown(f"**Loaded:** `{md_escape(settings.analysis.model_path)}` on {predictor.device}")
    facts = [("Backbone", config.backbone_name_or_path), ("Backbone bundled in folder", config.backbone_bundled),
             ("Backbone outputs used", config.feature_source), ("Location head", f"{config.num_head_layers} Transformer "
             f"encoder layers, width {config.head_width}"), ("Output", config.output_mode),
             ("Candidate locations (vMF components)", config.num_components), ("Uncertainty", config.uncertainty),
             ("Calibration scale (kappa)", f"{config.kappa_scale:.4g}")]
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
        st.caption(evaluation.get("convention_text", ""))
st.markdown("""
### Loading a model
Enter the path of a trained geoloc model folder (``config.json`` + ``model.safetensors``) in the sidebar, or
start the app with ``GEOLOC_MODEL=/path/to/model make run``. The model loads once per server and is shared by
every browser session.

### Training one
See ``training/README.md``: a CSV of geotagged images, ``python -m training.train --config ...`` on a GPU,
then ``python -m training.evaluate`` for the table in the thesis's form (% within 1 / 25 / 200 / 750 / 2500 km).
""")
