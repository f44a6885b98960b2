#!/bin/bash
# The GPU machine's table, in one device call (see pack.sh, which builds what this needs):
#   device tool: command "bash .device-carry/device-run.sh", carry [".device-carry"]
# There it builds SAM ViT-B with segment_anything's own code (seeded random weights, IoU head bias +3)
# and the mobilesam-arch-colour pair (scripts/bench-models: TinyViT and SAM's decoder with the tiny
# colour model's masks), times the reference SamAutomaticMaskGenerator on the GPU and on the CPU cores,
# runs sam-amg once per configuration and workload, and prints the table with ratios
# (scripts/gpu-bench/table.ts). Environment:
#   CONFIGS  ';'-separated "name:flags" (default below; "cpu" is the masks' yardstick, keep it)
#   WORKLOADS  vit_b and/or colour (default both)    LIMIT  seconds per sam-amg run (default 240)
#   REF_CPU  0 to skip the reference on the CPU (slow: about 40 s an image on 16 cores)
# Writes $OUT/log.txt, $OUT/table.md and the runs' events and outputs.
set -u
c=$(pwd)/.device-carry; W=/tmp/gpu-bench; O=${OUT:-/tmp/gpu-bench-out}; mkdir -p "$W" "$O"
exec > >(tee -a "$O/log.txt") 2>&1
t0=$(date +%s); stamp() { echo "== +$(( $(date +%s) - t0 ))s $*"; }
stamp start; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; echo "cores: $(nproc)"
[ -x "$W/node" ] || { xz -dc "$c/node.xz" > "$W/node" && chmod +x "$W/node"; }
[ -d "$W/app/dist" ] || { mkdir -p "$W/app" && xz -dc "$c/app.tar.xz" | tar -x -C "$W/app"; }
# WebGPU needs a Vulkan loader and the driver's glvnd libraries, which the machine lacks.
for f in "$c"/gl/*.deb; do dpkg -x "$f" /; done; ldconfig
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; [ -f "$icd" ] && export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
# CUDA: where pack.sh carried onnxruntime's CUDA provider libraries, they join onnxruntime-node's, and cuDNN/cuBLAS come from the Python packages.
if [ -d "$c/cuda" ]; then
  cp "$c"/cuda/*.so "$W/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/" 2>/dev/null
  export LD_LIBRARY_PATH="$(find / -name 'libcudnn.so.9*' -o -name 'libcublas.so.1*' -o -name 'libcudart.so.1*' -o -name 'libcurand.so.1*' 2>/dev/null | xargs -r -n1 dirname | sort -u | paste -sd:):${LD_LIBRARY_PATH:-}"
fi
rm -rf "$W/img"; mkdir -p "$W/img"
# The photos twice (8 images), so a median leaves out warm-up effects.
for f in "$c"/photos/*; do b=$(basename "$f"); cp "$f" "$W/img/$b"; cp "$f" "$W/img/${b%.*}-2.${b##*.}"; done
export SAM_REF="$c"
stamp "models"
[ -f "$W/vit_b/decoder.onnx" ] || python3 "$c/gpu-bench/reference.py" export "$W/vit_b" --arch vit_b
if [[ "${WORKLOADS:-vit_b colour}" == *colour* ]] && [ ! -f "$W/colour/decoder.onnx" ]; then
  (cd "$c/bench-models" && python3 make_bench_models.py --out "$W/bench" --only decoder,tinyvit) | tail -2
  (cd "$W/app" && "$W/node" dist/scripts/bench-models/with-colour-masks.js --bench "$W/bench/mobilesam-arch" --out "$W/colour") | tail -1
fi
stamp "reference on the GPU"
python3 "$c/gpu-bench/reference.py" time "$O/ref-gpu" "$W"/img/* --device cuda
if [ "${REF_CPU:-1}" != 0 ]; then stamp "reference on the CPU cores"; timeout 900 python3 "$c/gpu-bench/reference.py" time "$O/ref-cpu" "$W"/img/* --device cpu; fi
IFS=";" read -ra configs <<< "${CONFIGS:-webgpu:--device webgpu;cuda:--device cuda;cpu:--device cpu;cpu-batched:--device cpu --prompts-per-call 64 --decoder-graph whole;cpu-filter-graph:--device cpu --filter-graph on}"
for workload in ${WORKLOADS:-vit_b colour}; do
  for cfg in "${configs[@]}"; do
    name=${cfg%%:*}; flags=${cfg#*:}; run="$workload.$name"; stamp "sam-amg $run ($flags)"; rm -rf "$O/out-$run"
    timeout "${LIMIT:-240}" "$W/node" "$W/app/bin/sam-amg.js" "$W/img" --out "$O/out-$run" --model "$W/$workload" --points-per-side 32 --json $flags > "$O/$run.jsonl" 2> "$O/$run.err"
    echo "exit $?"; tail -2 "$O/$run.err"
  done
done
stamp "table"
"$W/node" "$W/app/dist/scripts/gpu-bench/table.js" "$O" | tee "$O/table.md"
stamp done
