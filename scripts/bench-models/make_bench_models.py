#!/usr/bin/python3
"""Benchmark models with the real cost of SAM-family networks.

Seeded random weights in the architectures of SAM's mask decoder and of the
registry's image encoders (SAM ViT-B/L/H, MobileSAM's TinyViT-5M; in
families.py EfficientSAM-Ti, EdgeSAM, EfficientViT-SAM-L0, SAM 2.1 tiny with
their decoders), exported to ONNX in each family's I/O contract, so sam-amg
can be timed as users will run it. The masks mean nothing; the arithmetic is
the real amount. Layers live in layers.py.

Run with Debian's PyTorch (apt-get install python3-torch; nothing is
downloaded):

    /usr/bin/python3 scripts/bench-models/make_bench_models.py [--out bench/models] [--only decoder,tinyvit,vitb,vitl,vith,efficientsam,edgesam,efficientvit,sam2]

Writes <out>/<model>/{encoder,decoder}.onnx (not committed: up to 2.5 GB each),
<out>/decoder-batched/decoder.onnx (dynamic prompt axis) and <out>/summary.json
with each network's parameter count and GMAC per call (counted here, by layer).
"""
import argparse
import json
import os
import shutil

import torch

import families
from layers import MACS, MaskDecoderOnnx, TinyVit5M, VitB

# ---------------------------------------------------------------- export

def measure(model, args):
    MACS[0] = 0
    with torch.no_grad():
        model(*args)
    return MACS[0]


def params(model):
    return sum(p.numel() for p in model.parameters())


def export(model, args, path, inputs, outputs, dynamic=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(model, args, path, input_names=inputs, output_names=outputs,
                          dynamic_axes=dynamic or {}, opset_version=17, do_constant_folding=True)


def decoder_args(b):
    return (torch.randn(1, 256, 64, 64), torch.rand(b, 2, 2) * 1024, torch.tensor([[1.0, -1.0]] * b),
            torch.zeros(b, 1, 256, 256), torch.zeros(b), torch.tensor([1024.0, 1024.0]))


def family_pairs():
    """The other families' pairs: folder, encoder (class, example input, I/O names, dynamic axes), decoder likewise."""
    q = lambda n: {0: n}
    return {
        'efficientsam': ('efficientsam-ti-arch',
                         (families.EfficientSamEncoder, lambda: (torch.rand(1, 3, 1024, 1024),), ['batched_images'], ['image_embeddings'],
                          {'batched_images': {0: 'batch', 2: 'height', 3: 'width'}, 'image_embeddings': q('batch')}),
                         (families.EfficientSamDecoder,
                          lambda n: (torch.randn(1, 256, 64, 64), torch.rand(1, n, 1, 2) * 256, torch.ones(1, n, 1), torch.tensor([256, 256])),
                          ['image_embeddings', 'batched_point_coords', 'batched_point_labels', 'orig_im_size'],
                          ['output_masks', 'iou_predictions', 'low_res_logits'],
                          {'batched_point_coords': {1: 'num_queries', 2: 'num_pts'}, 'batched_point_labels': {1: 'num_queries', 2: 'num_pts'},
                           'output_masks': {1: 'num_queries', 3: 'height', 4: 'width'}, 'iou_predictions': {1: 'num_queries'},
                           'low_res_logits': {1: 'num_queries'}})),
        'edgesam': ('edgesam-arch',
                    (families.EdgeSamEncoder, lambda: (torch.randn(1, 3, 1024, 1024),), ['image'], ['image_embeddings'], {}),
                    (families.PointsOnlyDecoder,
                     lambda n: (torch.randn(1, 256, 64, 64), torch.rand(1, 2, 2) * 1024, torch.tensor([[1.0, -1.0]])),
                     ['image_embeddings', 'point_coords', 'point_labels'], ['scores', 'masks'],
                     {'point_coords': {1: 'num_points'}, 'point_labels': {1: 'num_points'}})),
        'efficientvit': ('efficientvit-sam-l0-arch',
                         (families.EfficientVitSamEncoder, lambda: (torch.randn(1, 3, 512, 512),), ['input_image'], ['image_embeddings'], {}),
                         (families.EfficientVitSamDecoder,
                          lambda n: (torch.randn(1, 256, 64, 64), torch.rand(n, 2, 2) * 1024, torch.tensor([[1.0, -1.0]] * n)),
                          ['image_embeddings', 'point_coords', 'point_labels'], ['masks', 'iou_predictions'],
                          {'point_coords': {0: 'batch', 1: 'num_points'}, 'point_labels': {0: 'batch', 1: 'num_points'},
                           'masks': q('batch'), 'iou_predictions': q('batch')})),
        'sam2': ('sam2.1-tiny-arch',
                 (families.Sam2Encoder, lambda: (torch.randn(1, 3, 1024, 1024),), ['image'],
                  ['high_res_feats_0', 'high_res_feats_1', 'image_embed'], {}),
                 (families.Sam2Decoder,
                  lambda n: (torch.randn(1, 256, 64, 64), torch.randn(1, 32, 256, 256), torch.randn(1, 64, 128, 128),
                             torch.rand(n, 1, 2) * 1024, torch.ones(n, 1), torch.zeros(n, 1, 256, 256), torch.zeros(n)),
                  ['image_embed', 'high_res_feats_0', 'high_res_feats_1', 'point_coords', 'point_labels', 'mask_input', 'has_mask_input'],
                  ['masks', 'iou_predictions'],
                  {'point_coords': {0: 'num_labels', 1: 'num_points'}, 'point_labels': {0: 'num_labels', 1: 'num_points'},
                   'mask_input': q('num_labels'), 'has_mask_input': q('num_labels'), 'masks': q('num_labels'), 'iou_predictions': q('num_labels')})),
    }


def export_family(key, out, summary):
    folder, (enc_cls, enc_args, enc_in, enc_out, enc_dyn), (dec_cls, dec_args, dec_in, dec_out, dec_dyn) = family_pairs()[key]
    name = folder.replace('-arch', '')
    torch.manual_seed(1)
    enc = enc_cls().eval()
    summary[name + '-encoder'] = {'params': params(enc), 'gmac_per_call': measure(enc, enc_args()) / 1e9}
    export(enc, enc_args(), os.path.join(out, folder, 'encoder.onnx'), enc_in, enc_out, enc_dyn)
    torch.manual_seed(0)
    dec = dec_cls().eval()
    summary[name + '-decoder'] = {'params': params(dec), 'gmac_per_prompt': measure(dec, dec_args(1)) / 1e9}
    # samexporter traces SAM 2's decoder with one prompt: its has_mask_input broadcast fails for two.
    export(dec, dec_args(1 if key == 'sam2' else 2), os.path.join(out, folder, 'decoder.onnx'), dec_in, dec_out, dec_dyn)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', default=os.path.join(os.path.dirname(__file__), '..', '..', 'bench', 'models'))
    ap.add_argument('--only', default='decoder,tinyvit,vitb,vitl,vith,efficientsam,edgesam,efficientvit,sam2')
    a = ap.parse_args()
    only = set(a.only.split(','))
    out = os.path.normpath(a.out)
    summary_file = os.path.join(out, 'summary.json')
    summary = json.load(open(summary_file)) if os.path.exists(summary_file) else {}
    torch.manual_seed(0)
    dec_names = ['image_embeddings', 'point_coords', 'point_labels', 'mask_input', 'has_mask_input', 'orig_im_size']
    dec_out = ['masks', 'iou_predictions', 'low_res_masks']
    decoder = MaskDecoderOnnx().eval()
    encoders = {
        'tinyvit': ('mobilesam-arch', TinyVit5M),
        'vitb': ('sam-vit-b-arch', VitB),
        # ViT-L and ViT-H as SAM builds them (build_sam.py): width, depth, heads and global-attention blocks.
        'vitl': ('sam-vit-l-arch', lambda: VitB(1024, 24, 16, 14, (5, 11, 17, 23))),
        'vith': ('sam-vit-h-arch', lambda: VitB(1280, 32, 16, 14, (7, 15, 23, 31))),
    }
    if 'decoder' in only:
        summary['sam-decoder'] = {'params': params(decoder), 'gmac_per_prompt': measure(decoder, decoder_args(1)) / 1e9}
        export(decoder, decoder_args(1), os.path.join(out, 'sam-decoder', 'decoder.onnx'), dec_names, dec_out,
               {'point_coords': {1: 'num_points'}, 'point_labels': {1: 'num_points'}})
        export(decoder, decoder_args(2), os.path.join(out, 'decoder-batched', 'decoder.onnx'), dec_names, dec_out,
               {'point_coords': {0: 'num_prompts', 1: 'num_points'}, 'point_labels': {0: 'num_prompts', 1: 'num_points'},
                'mask_input': {0: 'num_prompts'}, 'has_mask_input': {0: 'num_prompts'},
                'masks': {0: 'num_prompts'}, 'iou_predictions': {0: 'num_prompts'}, 'low_res_masks': {0: 'num_prompts'}})
    for key, (folder, cls) in encoders.items():
        if key not in only:
            continue
        torch.manual_seed(1)
        enc = cls().eval()
        x = torch.randn(1, 3, 1024, 1024)
        summary[folder.replace('-arch', '') + '-encoder'] = {'params': params(enc), 'gmac_per_call': measure(enc, (x,)) / 1e9}
        export(enc, (x,), os.path.join(out, folder, 'encoder.onnx'), ['input_image'], ['image_embeddings'])
        del enc
    # Every SAM-decoder pair shares the one decoder, so pairs differ only in their encoder.
    for folder, _ in encoders.values():
        if os.path.exists(os.path.join(out, folder, 'encoder.onnx')):
            shutil.copyfile(os.path.join(out, 'sam-decoder', 'decoder.onnx'), os.path.join(out, folder, 'decoder.onnx'))
    for key in family_pairs():
        if key in only:
            export_family(key, out, summary)
    os.makedirs(out, exist_ok=True)
    # Another run may have added entries meanwhile: keep them.
    latest = json.load(open(summary_file)) if os.path.exists(summary_file) else {}
    summary = {**latest, **summary}
    with open(summary_file, 'w') as f:
        json.dump(summary, f, indent=1)
    print(json.dumps(summary, indent=1))


if __name__ == '__main__':
    main()
