"""Train a geoloc model: python -m training.train --config training/configs/NAME.yaml [--set k=v ...] [--resume]

One GPU:           python -m training.train --config training/configs/vitl14_mp16.yaml
One node, N GPUs:  torchrun --standalone --nproc_per_node=N -m training.train --config ...
Several nodes:     torchrun --nnodes=M --nproc_per_node=N --node_rank=R --rdzv_backend=c10d \
                       --rdzv_endpoint=HOST:29500 -m training.train --config ...
"""
from __future__ import annotations

import argparse
import sys

from geoloc_core.learning.train_config import TrainConfig
from geoloc_core.learning.trainer import train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="YAML training config (see training/configs/)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="override a config value, e.g. --set optim.epochs=3 --set data.use_cache=false")
    parser.add_argument("--output", help="output folder (overrides output_dir)")
    parser.add_argument("--resume", action="store_true", help="continue from OUTPUT/checkpoint-last")
    args = parser.parse_args(argv)
    config = TrainConfig.from_yaml(args.config)
    config.apply_overrides(args.set)
    if args.output:
        config.output_dir = args.output
    try:
        train(config, resume=args.resume)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
