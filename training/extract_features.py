"""Fill the feature cache ahead of training (training does this itself when the cache is missing):

python -m training.extract_features --config training/configs/NAME.yaml                       # one GPU
torchrun --standalone --nproc_per_node=N -m training.extract_features --config ...          # N GPUs, one node

Every rank extracts its own shards (DataLoader decode workers, fp16/bf16 backbone on CUDA),
prints the disk cost up front and checks free space; resumable: run it again after an
interruption. The cache must be on storage every node shares.
"""
from __future__ import annotations

import argparse
import sys

from geoloc_core.learning.distributed import cleanup_distributed, init_distributed
from geoloc_core.learning.train_config import TrainConfig
from geoloc_core.learning.trainer import _load_records, prepare_caches
from geoloc_core.model.preprocessing import load_image_processor
from geoloc_core.model.modeling_geolocator import GeoLocator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True)
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE")
    args = parser.parse_args(argv)
    config = TrainConfig.from_yaml(args.config)
    config.apply_overrides(args.set)
    ctx = init_distributed()
    log = print if ctx.is_main else (lambda _: None)
    try:
        splits, _ = _load_records(config, log)
        settings = config.model
        model = GeoLocator.from_backbone(settings.backbone, log=log, **settings.config_kwargs())
        processor = load_image_processor("", model.config.vision_config, settings.backbone)
        prepare_caches(config, model.to(ctx.device), processor, splits, ctx, log)
    finally:
        cleanup_distributed()
    return 0


if __name__ == "__main__":
    sys.exit(main())
