#!/bin/bash
# One prepared run on a lent GPU machine (#18's GPU item), from the repository root there, with .gpu/
# carried (benchmarks/device/prepare_carry.sh builds it): install the carried wheels, then the model part
# of bench_scan at ViT-L/14 size in fp16 over a sweep of inspection-pool sizes, and at batch 64.
# Results come back in $OUT (the device tool's folder). Took 105-120 s there, plus the machine's start.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/*.whl \
  && tar xzf .gpu/transformers_slim.tgz -C /tmp/site && tar xzf .gpu/reverse_geocoder.tgz -C /tmp/site && tar xzf .gpu/pyproj_nodb.tgz -C /tmp/site || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv
echo "cores: $(nproc)"; lscpu | grep "Model name"
python3 -c "import torch, transformers, PIL; print('torch', torch.__version__, 'transformers', transformers.__version__, 'pillow', PIL.__version__, 'cuda', torch.cuda.is_available())" || exit 1
python3 -m benchmarks.bench_scan --files --sizes l14 --device cuda --model-images 1024 --reps 3 --timeline --keep /tmp/b --workers 4 8 12 15 2>&1 | grep -v "Writing model\|PROJ\|ca_bundle" | tee $OUT/gpu_l14_b16.log
python3 -m benchmarks.bench_scan --files --sizes l14 --device cuda --model-images 1024 --reps 3 --timeline --keep /tmp/b --workers 15 --batch 64 2>&1 | grep -v "Writing model\|PROJ\|ca_bundle" | tee $OUT/gpu_l14_b64.log
