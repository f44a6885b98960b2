#!/usr/bin/python3
"""The reference on the GPU machine: SAM built by segment_anything's own code, timed.

Needs PyTorch, numpy and Pillow, and segment_anything's source on SAM_REF (a folder holding the
`segment_anything` package). Seeded random weights; the IoU head's last bias is raised by 3, so
every prompt passes the predicted-IoU filter and its masks are upscaled, as with real weights.

    SAM_REF=DIR python3 reference.py export MODEL_DIR [--arch vit_b]
    SAM_REF=DIR python3 reference.py time OUT_DIR IMAGE... --device cuda|cpu [--arch vit_b] [--points 32]

`export` writes MODEL_DIR/{encoder,decoder}.onnx in segment_anything's own ONNX contract.
`time` runs SamAutomaticMaskGenerator on the same weights (one untimed warm-up image first),
writing OUT_DIR/<stem>.json (uncompressed RLE) and OUT_DIR/times.json (seconds per image).
"""
import argparse, inspect, json, os, sys, time, warnings

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.environ.get("SAM_REF", "."))
from segment_anything import SamAutomaticMaskGenerator, sam_model_registry  # noqa: E402
from segment_anything.utils.onnx import SamOnnxModel  # noqa: E402


def build(arch, seed=0):
    torch.manual_seed(seed)
    sam = sam_model_registry[arch](checkpoint=None).eval()
    with torch.no_grad():
        sam.mask_decoder.iou_prediction_head.layers[-1].bias += 3.0
    return sam


def to_onnx(model, args, path, **kw):
    # PyTorch >= 2.9 exports with dynamo by default; segment_anything's own script uses TorchScript's exporter.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kw["dynamo"] = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, path, opset_version=17, **kw)


class ImageEncoder(torch.nn.Module):
    def __init__(self, sam):
        super().__init__()
        self.encoder = sam.image_encoder

    def forward(self, input_image):
        return self.encoder(input_image)


def export(a):
    sam = build(a.arch)
    os.makedirs(a.model_dir, exist_ok=True)
    to_onnx(ImageEncoder(sam), (torch.randn(1, 3, 1024, 1024),), os.path.join(a.model_dir, "encoder.onnx"),
            input_names=["input_image"], output_names=["image_embeddings"])
    inputs = {
        "image_embeddings": torch.randn(1, 256, 64, 64),
        "point_coords": torch.randint(0, 1024, (1, 5, 2), dtype=torch.float),
        "point_labels": torch.randint(0, 4, (1, 5), dtype=torch.float),
        "mask_input": torch.randn(1, 1, 256, 256),
        "has_mask_input": torch.tensor([1.0]),
        "orig_im_size": torch.tensor([1500.0, 2250.0]),
    }
    to_onnx(SamOnnxModel(sam, return_single_mask=False), tuple(inputs.values()), os.path.join(a.model_dir, "decoder.onnx"),
            input_names=list(inputs), output_names=["masks", "iou_predictions", "low_res_masks"],
            dynamic_axes={"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}}, do_constant_folding=True)
    print(f"exported {a.arch} to {a.model_dir}", flush=True)


def time_reference(a):
    sam = build(a.arch).to(a.device)
    torch.set_num_threads(os.cpu_count() or 1)
    generator = SamAutomaticMaskGenerator(sam, points_per_side=a.points, output_mode="uncompressed_rle")
    sync = torch.cuda.synchronize if a.device.startswith("cuda") else (lambda: None)
    os.makedirs(a.out_dir, exist_ok=True)
    times = {}
    for k, path in enumerate(a.images):
        image = np.array(Image.open(path).convert("RGB"))
        with torch.no_grad():
            if k == 0:
                generator.generate(image)  # warm-up: kernels, allocator, caches
                sync()
            started = time.perf_counter()
            masks = generator.generate(image)
            sync()
        seconds = time.perf_counter() - started
        stem = os.path.splitext(os.path.basename(path))[0]
        times[stem] = seconds
        record = {"image": {"file_name": os.path.basename(path), "width": image.shape[1], "height": image.shape[0]},
                  "annotations": [{**m, "id": i} for i, m in enumerate(masks)]}
        with open(os.path.join(a.out_dir, stem + ".json"), "w") as f:
            json.dump(record, f)
        print(f"reference {a.device} {stem}: {len(masks)} masks in {seconds:.2f} s", flush=True)
    with open(os.path.join(a.out_dir, "times.json"), "w") as f:
        json.dump(times, f)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export")
    e.add_argument("model_dir")
    e.add_argument("--arch", default="vit_b")
    t = sub.add_parser("time")
    t.add_argument("out_dir")
    t.add_argument("images", nargs="+")
    t.add_argument("--device", default="cuda")
    t.add_argument("--arch", default="vit_b")
    t.add_argument("--points", type=int, default=32)
    a = ap.parse_args()
    export(a) if a.command == "export" else time_reference(a)


if __name__ == "__main__":
    main()
