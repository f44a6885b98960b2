#!/bin/bash
# Builds .device-carry/ (git-ignored; about 45 MB) for scripts/gpu-bench/device-run.sh. From the
# project's root after `npm install`, on a machine with Debian's apt (for the GL libraries):
#   bash scripts/gpu-bench/pack.sh SEGMENT_ANYTHING_DIR [PHOTOS_DIR] [CUDA_LIBS_DIR]
# SEGMENT_ANYTHING_DIR holds segment_anything's `segment_anything` package (its source, 110 KB).
# PHOTOS_DIR: the images to time (default ../shared/fixtures/images, else fixtures/photos).
# CUDA_LIBS_DIR: libonnxruntime_providers_{cuda,shared}.so built for the installed onnxruntime-node,
# if you have them; without, the cuda rows say why they could not run.
set -eu
ref=${1:?usage: pack.sh SEGMENT_ANYTHING_DIR [PHOTOS_DIR] [CUDA_LIBS_DIR]}
photos=${2:-../shared/fixtures/images}; [ -d "$photos" ] || photos=fixtures/photos
[ -d "$ref/segment_anything" ] || { echo "no segment_anything package in $ref"; exit 2; }
[ -f package.json ] && [ -d dist ] && [ -d node_modules ] || { echo "run from the project's root after npm install"; exit 2; }
c=.device-carry
grep -qx "/$c/" .git/info/exclude 2>/dev/null || { mkdir -p .git/info; echo "/$c/" >> .git/info/exclude; }
rm -rf "$c" && mkdir -p "$c/gl" "$c/photos"
xz -6 -T2 -c "$(command -v node)" > "$c/node.xz"
app=$(mktemp -d); cp -r dist bin package.json package-lock.json node_modules "$app/"
mkdir -p "$app/fixtures/models"; cp -r fixtures/models/tiny "$app/fixtures/models/"
(cd "$app" && npm prune --omit=dev --no-audit --no-fund >/dev/null 2>&1)
ort="$app/node_modules/onnxruntime-node/bin"
find "$ort" -mindepth 2 -maxdepth 2 -type d ! -name linux -exec rm -rf {} +; find "$ort" -path '*linux/arm64' -type d -exec rm -rf {} +
rm -rf "$app/node_modules/protobufjs/cli"; find "$app/node_modules" \( -name '*.map' -o -name '*.d.ts' \) -delete
(cd "$app" && tar -cf - dist bin package.json fixtures node_modules) | xz -9 -T2 > "$c/app.tar.xz"; rm -rf "$app"
(cd "$c/gl" && apt-get download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 libgles2 >/dev/null 2>&1) \
  || { echo "apt-get download failed (apt-get update first)"; exit 2; }
cp -r "$ref/segment_anything" "$c/"; cp -r scripts/gpu-bench scripts/bench-models "$c/"; cp scripts/gpu-bench/device-run.sh "$c/"
find "$photos" -maxdepth 1 -type f \( -iname '*.jpg' -o -iname '*.png' \) -exec cp {} "$c/photos/" \;
if [ -n "${3:-}" ]; then mkdir -p "$c/cuda"; cp "$3"/libonnxruntime_providers_*.so "$c/cuda/"; fi
du -sh "$c"; echo "device tool: command 'bash .device-carry/device-run.sh', carry ['.device-carry'] (under 64 MiB)"
