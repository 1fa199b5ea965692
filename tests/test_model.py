from __future__ import annotations

import json
import math

import pytest
import torch

from geoloc_core.model.configuration_geolocator import GeoLocatorConfig
from geoloc_core.model.modeling_geolocator import GeoLocator
from geoloc_core.model.distributions import (latlon_to_unit, mixture_radius_km, unit_to_latlon, vmf_log_density,
                                   vmf_radius_km)
from geoloc_core.places.geodesy import EARTH_RADIUS_KM
from tests.tiny_models import build_tiny_model

LABELS = torch.tensor([[48.85, 2.35], [-33.9, 151.2], [89.9, 0.0], [0.0, -179.99]])


@pytest.mark.parametrize("mode", ["sphere", "latlon"])
@pytest.mark.parametrize("components,uncertainty", [(1, True), (1, False), (3, True)])
def test_shapes_ranges_and_loss(tiny_backbone_dir, mode, components, uncertainty):
    model = build_tiny_model(tiny_backbone_dir, output_mode=mode, num_components=components,
                             uncertainty=uncertainty).eval()
    out = model(pixel_values=torch.randn(4, 3, 32, 32), labels=LABELS)
    assert out.lat.shape == out.lon.shape == (4,) and out.components.shape == (4, components, 3)
    assert torch.all(out.lat.abs() <= 90) and torch.all(out.lon >= -180) and torch.all(out.lon < 180)
    assert torch.allclose(out.unit.norm(dim=-1), torch.ones(4), atol=1e-5)
    assert torch.allclose(out.weights.sum(-1), torch.ones(4), atol=1e-5)
    assert torch.isfinite(out.loss) and out.distance_km.shape == (4,)
    assert (out.kappa is not None) == uncertainty
    features = model.extract_features(torch.randn(2, 3, 32, 32))
    assert features.shape == (2, 17, 32)  # all tokens: 16 patches + CLS


def test_cached_features_give_the_same_output_as_pixels(tiny_backbone_dir):
    model = build_tiny_model(tiny_backbone_dir).eval()
    pixels = torch.randn(3, 3, 32, 32)
    assert torch.allclose(model(pixel_values=pixels).unit, model(features=model.extract_features(pixels)).unit)
    pooled = build_tiny_model(tiny_backbone_dir, feature_source="pooled").eval()
    assert pooled.extract_features(pixels).shape == (3, 32)
    assert pooled(features=pooled.extract_features(pixels)).lat.shape == (3,)


def test_sphere_conversion_near_poles_and_antimeridian():
    vectors = torch.tensor([[-1.0, -1e-9, 0.0], [-1.0, 1e-9, 0.0], [0.0, 0.0, 1.0], [1e-7, 0, -1.0]])
    lat, lon = unit_to_latlon(vectors)
    assert lon[0] == pytest.approx(-180.0) and lon[1] == pytest.approx(-180.0, abs=1e-6)
    assert torch.all(lon >= -180) and torch.all(lon < 180)
    assert lat[2] == pytest.approx(90.0) and lat[3] == pytest.approx(-90.0, abs=1e-4)
    back = unit_to_latlon(latlon_to_unit(torch.tensor([12.5, -45.0]), torch.tensor([179.999, -179.999])))
    assert torch.allclose(back[1], torch.tensor([179.999, -179.999]), atol=1e-3)


@pytest.mark.parametrize("include_backbone", [True, False])
def test_save_load_round_trip_is_identical(tiny_backbone_dir, tmp_path, include_backbone):
    model = build_tiny_model(tiny_backbone_dir, num_components=2, seed=3).eval()
    model.config.trained_on = {"dataset": "unit-test"}
    model.save_pretrained(tmp_path, include_backbone=include_backbone)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == "geolocator" and saved["backbone_bundled"] is include_backbone
    assert saved["trained_on"] == {"dataset": "unit-test"}
    loaded = GeoLocator.from_pretrained(tmp_path).eval()
    pixels = torch.randn(2, 3, 32, 32)
    a, b = model(pixel_values=pixels), loaded(pixel_values=pixels)
    assert torch.equal(a.unit, b.unit) and torch.equal(a.kappa, b.kappa)
    assert all(not p.requires_grad for p in loaded.backbone.parameters())


def test_backbone_is_frozen_and_unchanged_by_a_training_step(tiny_backbone_dir, tmp_path):
    build_tiny_model(tiny_backbone_dir).save_pretrained(tmp_path)
    model = GeoLocator.from_pretrained(tmp_path)  # freezing must survive from_pretrained
    model.train()
    assert not model.backbone.training and model.location_head.training
    backbone_before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    head_before = model.regression_head.location.weight.clone()
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert trainable and all(not p.requires_grad for p in model.backbone.parameters())
    optimizer = torch.optim.AdamW(trainable, lr=1e-2)
    model(pixel_values=torch.randn(4, 3, 32, 32), labels=LABELS).loss.backward()
    optimizer.step()
    assert all(torch.equal(v, model.backbone.state_dict()[k]) for k, v in backbone_before.items())
    assert not torch.equal(head_before, model.regression_head.location.weight)


def test_config_validation():
    with pytest.raises(Exception, match="needs uncertainty"):
        GeoLocatorConfig(num_components=3, uncertainty=False)
    with pytest.raises(Exception, match="multiple of"):
        GeoLocatorConfig(head_width=30, num_attention_heads=4)
    assert GeoLocatorConfig().num_head_layers == 2 and GeoLocatorConfig().output_mode == "sphere"


def test_vmf_density_integrates_to_one_and_radii_are_exact():
    # midpoint rule over the sphere in (theta from mu, phi)
    for kappa in (0.5, 20.0, 500.0):
        theta = (torch.arange(200000, dtype=torch.float64) + 0.5) * (math.pi / 200000)
        mu = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
        x = torch.stack([torch.sin(theta), torch.zeros_like(theta), torch.cos(theta)], -1)
        density = vmf_log_density(x, mu, torch.tensor(kappa, dtype=torch.float64)).exp()
        integral = (density * 2 * math.pi * torch.sin(theta)).sum() * (math.pi / 200000)
        assert integral.item() == pytest.approx(1.0, rel=1e-4)
        for p in (0.5, 0.9):
            radius = vmf_radius_km(torch.tensor([kappa]), p).item() / EARTH_RADIUS_KM
            inside = (density * 2 * math.pi * torch.sin(theta))[theta <= radius].sum() * (math.pi / 200000)
            assert inside.item() == pytest.approx(p, abs=2e-3)


def test_mixture_radius_matches_closed_form_for_one_component():
    mu = torch.tensor([[[0.0, 0.0, 1.0]]])
    kappa = torch.tensor([[300.0]])
    generator = torch.Generator().manual_seed(0)
    sampled = mixture_radius_km(mu, kappa, torch.ones(1, 1), mu[:, 0], 0.9, samples=20000, generator=generator)
    assert sampled.item() == pytest.approx(vmf_radius_km(kappa[:, 0], 0.9).item(), rel=0.03)


def test_uncertainty_radii_positive_and_ordered(tiny_backbone_dir):
    for components in (1, 3):
        model = build_tiny_model(tiny_backbone_dir, num_components=components).eval()
        out = model(pixel_values=torch.randn(5, 3, 32, 32))
        r50, r90 = model.region_radii_km(out)
        assert torch.all(r50 > 0) and torch.all(r90 > r50)
        model.config.kappa_scale = 4.0  # sharper after calibration: smaller regions
        r50_sharp, _ = model.region_radii_km(model(pixel_values=torch.randn(5, 3, 32, 32)))
        assert r50_sharp.shape == (5,)


# ----- issue 15: numerics of the head and the vMF density -------------------------------------------------------
@pytest.mark.parametrize("kappa", [1e5, 1e7, 1e8])
@pytest.mark.parametrize("miss_km", [0.0, 0.5, 3.0])
def test_vmf_log_density_float32_matches_float64_at_high_kappa(kappa, miss_km):
    """kappa * (mu . x - 1) cancels in float32 (0.7 nats off at 1e7, 7 at 1e8); the density and its
    gradient in log kappa must agree with a float64 reference computed from the same inputs."""
    lat, lon = torch.tensor([48.8566, -33.9, 64.1]), torch.tensor([2.3522, 151.2, -21.9])
    x = latlon_to_unit(lat, lon)
    shifted = latlon_to_unit(lat + miss_km / EARTH_RADIUS_KM * 180 / math.pi, lon)
    raw = shifted * torch.tensor([[1.7], [0.3], [2.2]])  # un-normalised head output, normalised as the model does
    mu = raw / raw.norm(dim=-1, keepdim=True)
    log_kappa = torch.full((3,), math.log(kappa), requires_grad=True)
    value = vmf_log_density(x, mu, log_kappa.exp())
    value.sum().backward()
    x64, raw64 = latlon_to_unit(lat.double(), lon.double()), raw.double()
    mu64 = raw64 / raw64.norm(dim=-1, keepdim=True)
    log_kappa64 = torch.full((3,), math.log(kappa), dtype=torch.float64, requires_grad=True)
    k64 = log_kappa64.exp()
    reference = torch.log(k64) - math.log(2 * math.pi) - torch.log(-torch.expm1(-2 * k64)) + \
        k64 * ((mu64 * x64).sum(-1) - 1.0)
    reference.sum().backward()
    assert value.dtype == torch.float32
    assert torch.allclose(value.double(), reference, atol=2e-2), (value, reference)
    assert torch.allclose(log_kappa.grad.double(), log_kappa64.grad, atol=2e-2), (log_kappa.grad, log_kappa64.grad)


def test_head_and_loss_stay_fp32_under_bf16_autocast(tiny_backbone_dir):
    """bf16 rounding of the regression output moved points by kilometres; the head runs in fp32."""
    model = build_tiny_model(tiny_backbone_dir, num_components=2).eval()
    torch.manual_seed(1)
    features = model.extract_features(torch.randn(6, 3, 32, 32)).to(torch.float16)
    labels = torch.tensor([[48.85, 2.35], [-33.9, 151.2], [35.7, 139.7], [0.0, -179.99], [64.1, -21.9], [1.3, 103.8]])
    reference = model(features=features, labels=labels)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = model(features=features, labels=labels)
    assert mixed.loss.dtype == torch.float32 and mixed.unit.dtype == torch.float32 and mixed.kappa.dtype == torch.float32
    assert torch.allclose(mixed.unit, reference.unit, atol=1e-6), (mixed.unit - reference.unit).abs().max()
    assert torch.allclose(mixed.kappa, reference.kappa, rtol=1e-5)
    assert torch.allclose(mixed.loss, reference.loss, rtol=1e-5)


def test_full_clip_checkpoint_gives_one_short_notice(tmp_path, capfd):
    """A whole CLIP checkpoint (text tower included) is what the hub serves; loading its vision tower
    must say so in one line, not a 24-line table of unexpected keys."""
    from transformers import CLIPConfig, CLIPModel

    from tests.tiny_models import TINY_HEAD, TINY_VISION

    text = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4, vocab_size=49408,
                max_position_embeddings=16)
    CLIPModel(CLIPConfig(text_config=text, vision_config=TINY_VISION, projection_dim=16)).save_pretrained(tmp_path)
    capfd.readouterr()
    notices = []
    model = GeoLocator.from_backbone(tmp_path, log=notices.append, **TINY_HEAD)
    captured = capfd.readouterr()
    output = captured.out + captured.err
    assert "UNEXPECTED" not in output and "text_model" not in output, output
    assert len(notices) == 1 and "text tower" in notices[0] and len(notices[0]) < 200
    assert model.backbone.config.hidden_size == TINY_VISION["hidden_size"]
