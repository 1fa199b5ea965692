"""Fill the feature cache ahead of training (training does this itself when the cache is missing):

python -m training.extract_features --config training/configs/NAME.yaml

Prints the disk cost up front; resumable: run it again after an interruption.
"""
from __future__ import annotations

import argparse
import sys

import torch

from geoloc_core.learning.datasets import load_geo_csv, split_records
from geoloc_core.learning.feature_cache import build_cache
from geoloc_core.model.inference import load_image_processor
from geoloc_core.model.modeling_geolocator import GeoLocator
from geoloc_core.learning.train_config import TrainConfig
from geoloc_core.learning.trainer import load_image_for_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True)
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE")
    args = parser.parse_args(argv)
    config = TrainConfig.from_yaml(args.config)
    config.apply_overrides(args.set)
    records, report = load_geo_csv(config.data.train_csv, config.data.images)
    print(report.summary())
    groups = [records]
    if config.data.val_csv:
        val_records, val_report = load_geo_csv(config.data.val_csv, config.data.val_images or config.data.images)
        print(val_report.summary())
        groups.append(val_records)
    else:
        groups = list(split_records(records, config.data.val_fraction, config.seed))
    settings = config.model
    model = GeoLocator.from_backbone(settings.backbone, feature_source=settings.feature_source)
    processor = load_image_processor("", model.config.vision_config, settings.backbone)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        model.backbone.half()
    for group in groups:
        build_cache(model, processor, group, config.data.cache_dir, load_image_for_model,
                    batch_size=config.data.extract_batch_size, device=device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
