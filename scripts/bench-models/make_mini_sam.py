#!/usr/bin/python3
"""A miniature SAM pair in the real decoder architecture, small enough to commit.

The decoder is SAM's (prompt encoder, two-way transformer with its
attentions, output upscaling, hypernetworks, IoU head: layers.MaskDecoderOnnx)
at width 64 with 2 heads instead of 256 with 8 (still few heads × tokens against the width, so
folding its attentions pays as it does at full size), exported by PyTorch in the official decoder's I/O
contract, so the graph has the operator patterns real exports have; its final
attention scales q and kᵀ the way PyTorch 2 exports
scaled_dot_product_attention (SAM 2). The encoder pools the image to the
64×64 grid and mixes colours into 64 channels. Weights are seeded random: the
masks mean nothing, but they exist, and the tests compare how sam-amg runs
the decoder (whole, staged, folded) on them.

Run with Debian's PyTorch (apt-get install python3-torch python3-onnx):

    /usr/bin/python3 scripts/bench-models/make_mini_sam.py [--out fixtures/models/sam-mini]
"""
import argparse
import os

import torch
from torch import nn

from layers import MaskDecoderOnnx


class MiniEncoder(nn.Module):
    """1024² normalised image → [1, 64, 64, 64]: 16×16 average pooling, then two 1×1 convolutions."""

    def __init__(self, dim=64):
        super().__init__()
        self.pool = nn.AvgPool2d(16)
        self.mix = nn.Sequential(nn.Conv2d(3, dim, 1), nn.GELU(), nn.Conv2d(dim, dim, 1))

    def forward(self, x):
        return self.mix(self.pool(x))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', default=os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'models', 'sam-mini'))
    out = os.path.normpath(ap.parse_args().out)
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(7)
    encoder = MiniEncoder().eval()
    decoder = MaskDecoderOnnx(dim=64, mlp=64, iou_hidden=32, heads=2, final_scaled_inputs=True).eval()
    with torch.no_grad():
        # Larger mask logits than random init gives, so masks have edges away from the zero level.
        decoder.hyper.apply(lambda m: m.weight.mul_(8) if isinstance(m, nn.Linear) else None)
        torch.onnx.export(encoder, (torch.randn(1, 3, 1024, 1024),), os.path.join(out, 'encoder.onnx'),
                          input_names=['input_image'], output_names=['image_embeddings'], opset_version=17)
        args = (torch.randn(1, 64, 64, 64), torch.rand(1, 2, 2) * 1024, torch.tensor([[1.0, -1.0]]),
                torch.zeros(1, 1, 256, 256), torch.zeros(1), torch.tensor([1024.0, 1024.0]))
        torch.onnx.export(decoder, args, os.path.join(out, 'decoder.onnx'),
                          input_names=['image_embeddings', 'point_coords', 'point_labels', 'mask_input', 'has_mask_input', 'orig_im_size'],
                          output_names=['masks', 'iou_predictions', 'low_res_masks'],
                          dynamic_axes={'point_coords': {1: 'num_points'}, 'point_labels': {1: 'num_points'}},
                          opset_version=17, do_constant_folding=True)
    for name in ('encoder.onnx', 'decoder.onnx'):
        print(name, os.path.getsize(os.path.join(out, name)), 'bytes')


if __name__ == '__main__':
    main()
