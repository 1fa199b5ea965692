"""Training configuration: plain dataclasses read from YAML, overridable from the command line.

Split by concern (model / data / optimisation), as OSV-5M's configs are, but without a
framework: one file, read top to bottom. Every field has a default, so a config names
only what differs.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path

import yaml


@dataclass
class ModelSettings:
    backbone: str = "openai/clip-vit-large-patch14"  # Hugging Face id or local folder
    feature_source: str = "tokens"  # tokens | pooled
    head_width: int = 512
    num_head_layers: int = 2
    num_attention_heads: int = 8
    mlp_ratio: float = 4.0
    dropout: float = 0.1
    output_mode: str = "sphere"  # sphere | latlon
    num_components: int = 1
    uncertainty: bool = True
    nll_weight: float = 1.0

    def config_kwargs(self) -> dict:
        """Every setting but the backbone, named as GeoLocatorConfig names it."""
        return {k: v for k, v in asdict(self).items() if k != "backbone"}


@dataclass
class DataSettings:
    train_csv: str = ""
    images: str = ""
    # images: a folder, a .tar, a glob of .tar shards or a folder of them (WebDataset style); with
    # train_csv empty, the labels come from each sample's KEY.json inside the shards
    val_csv: str | None = None  # given validation set (picks the best epoch); else split off by seed
    val_images: str | None = None
    val_fraction: float = 0.05
    calibration_csv: str | None = None  # given calibration set (fits kappa_scale and the retrieval threshold)
    calibration_images: str | None = None
    calibration_fraction: float = 0.02
    test_csv: str | None = None  # given test set (reports accuracy and coverage on data that fitted nothing)
    test_images: str | None = None
    test_fraction: float = 0.02
    use_cache: bool = True  # train the head from cached backbone features
    cache_dir: str = "cache"  # must be on storage every node shares (checked)
    shard_size: int = 4096  # items per cache shard
    shuffle_buffer_shards: int = 8  # each epoch mixes items across this many shards at a time (learning/sampling.py)
    group_column: str = "auto"  # held-out splits keep its groups whole: auto (OSV-5M sequence, MP-16 AUTHOR), none, NAME
    num_workers: int = 2  # DataLoader workers for image decoding (extraction, end-to-end) and cache reading
    extract_batch_size: int = 64


@dataclass
class OptimSettings:
    epochs: int = 10
    batch_size: int = 256
    lr: float = 3e-4
    weight_decay: float = 0.05
    warmup_fraction: float = 0.05
    grad_clip: float = 1.0
    amp: str = "auto"  # auto (native bf16 on compute capability >= 8, else fp16 with a scaler; off on CPU)
    #                    | bf16 | fp16 | off. The head and the loss always run in fp32.


@dataclass
class TrainConfig:
    model: ModelSettings = field(default_factory=ModelSettings)
    data: DataSettings = field(default_factory=DataSettings)
    optim: OptimSettings = field(default_factory=OptimSettings)
    output_dir: str = "runs/geoloc"
    seed: int = 0
    calibrate: bool = True
    retrieval: bool = True  # build a retrieval index from the training features (saved with the model)
    progress: bool = True

    @classmethod
    def from_yaml(cls, path: str | Path) -> "TrainConfig":
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: dict) -> "TrainConfig":
        config = cls()
        for key, value in raw.items():
            config.set(key, value)
        return config

    def set(self, dotted: str, value) -> None:
        """Set ``section.field`` (or a top-level field, or a whole section from a dict), type-checked."""
        target, *rest = dotted.split(".", 1)
        names = {f.name: f for f in fields(self)}
        if target not in names:
            raise KeyError(f"unknown setting {dotted!r}; top-level keys: {', '.join(names)}")
        current = getattr(self, target)
        if is_dataclass(current):
            if rest:
                _set_field(current, rest[0], value, dotted)
            elif isinstance(value, dict):
                for key, item in value.items():
                    _set_field(current, key, item, f"{target}.{key}")
            else:
                raise TypeError(f"{target} is a section; give a mapping or {target}.FIELD=VALUE")
        else:
            _set_field(self, target, value, dotted)

    def apply_overrides(self, overrides: list[str]) -> None:
        """``["optim.epochs=3", "data.use_cache=false"]`` (values parsed as YAML scalars)."""
        for item in overrides:
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"override {item!r} must look like section.field=value")
            self.set(key.strip(), yaml.safe_load(value))

    def to_dict(self) -> dict:
        return asdict(self)


def _set_field(obj, name: str, value, dotted: str) -> None:
    known = {f.name: f for f in fields(obj)}
    if name not in known:
        raise KeyError(f"unknown setting {dotted!r}; known: {', '.join(known)}")
    default = getattr(obj, name)
    if isinstance(default, bool) and not isinstance(value, bool):
        raise TypeError(f"{dotted} must be true or false, got {value!r}")
    if isinstance(default, (int, float)) and not isinstance(default, bool) and value is not None:
        value = type(default)(value) if not (isinstance(default, int) and isinstance(value, float)) else value
    setattr(obj, name, value)
