"""Benchmark pairs in the other families' I/O forms (see src/model/families.ts).

Each is a seeded-random network in the published architecture's shape (widths,
depths, heads, windows, resolutions) wrapped in the family's export contract,
so sam-amg runs it through the same code path as the real export. Details
below the block level (re-parameterised branches, exact neck wiring) follow
the papers' descriptions where the cost is decided, not the weights' layout.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from layers import MLP, Conv2d, ConvBN, ConvTranspose2d, LayerNorm2d, Linear, MaskDecoderOnnx, VitB, count

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1)


# ---------------------------------------------------------------- EfficientSAM-Ti

class EfficientSamEncoder(nn.Module):
    """EfficientSAM-Ti: 0..1 images of any size, resized and normalised inside; ViT-Tiny (192-d, 12 blocks, 3 heads, global attention)."""

    def __init__(self):
        super().__init__()
        self.vit = VitB(dim=192, depth=12, heads=3, window=0, globals_=tuple(range(12)), rel=False)

    def forward(self, batched_images):
        x = F.interpolate(batched_images, size=(1024, 1024), mode='bilinear', align_corners=False)
        return self.vit((x - IMAGENET_MEAN) / IMAGENET_STD)


class EfficientSamDecoder(nn.Module):
    """SAM's decoder with prompts in pixels of orig_im_size, a query axis, and no mask prompt; 3 multimask outputs."""

    def __init__(self):
        super().__init__()
        self.core = MaskDecoderOnnx()

    def forward(self, image_embeddings, batched_point_coords, batched_point_labels, orig_im_size):
        q, n = batched_point_coords.shape[1], batched_point_coords.shape[2]
        size = orig_im_size.to(torch.float32)
        coords = (batched_point_coords * (1024 / size.flip(0))).reshape(q, n, 2)
        sparse = self.core.sparse_prompt(coords, batched_point_labels.reshape(q, n))
        low_res, iou, _ = self.core.decode(image_embeddings, sparse, self.core.no_mask_prompt())
        low_res, iou = low_res[:, 1:], iou[:, 1:]
        masks = F.interpolate(low_res, size=(orig_im_size[0], orig_im_size[1]), mode='bilinear', align_corners=False)
        return masks.unsqueeze(0), iou.unsqueeze(0), low_res.unsqueeze(0)


# ---------------------------------------------------------------- EdgeSAM (RepViT-M1 encoder)

class SqueezeExcite(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.reduce, self.expand = Conv2d(c, c // 4, 1), Conv2d(c // 4, c, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.expand(F.relu(self.reduce(x.mean((2, 3), keepdim=True)))))


class RepVitBlock(nn.Module):
    """RepViT block at inference: depthwise 3×3 token mixer (its branches folded into one), optional SE, 2× FFN."""

    def __init__(self, c, se):
        super().__init__()
        self.mixer = ConvBN(c, c, 3, 1, 1, groups=c)
        self.se = SqueezeExcite(c) if se else nn.Identity()
        self.ffn = nn.Sequential(ConvBN(c, 2 * c), nn.GELU(), ConvBN(2 * c, c))

    def forward(self, x):
        x = self.se(x + self.mixer(x))
        return x + self.ffn(x)


class RepVitDown(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.body = nn.Sequential(ConvBN(c_in, c_in, 3, 2, 1, groups=c_in), ConvBN(c_in, c_out))
        self.ffn = nn.Sequential(ConvBN(c_out, 2 * c_out), nn.GELU(), ConvBN(2 * c_out, c_out))

    def forward(self, x):
        x = self.body(x)
        return x + self.ffn(x)


class EdgeSamEncoder(nn.Module):
    """EdgeSAM's RepViT-M1 at 1024 (48/96/192/384 channels, 2/2/14/2 blocks) with an FPN neck to 256-d at stride 16."""

    def __init__(self, dims=(48, 96, 192, 384), depths=(2, 2, 14, 2)):
        super().__init__()
        self.stem = nn.Sequential(ConvBN(3, dims[0] // 2, 3, 2, 1), nn.GELU(), ConvBN(dims[0] // 2, dims[0], 3, 2, 1))
        stages = []
        for i, (c, d) in enumerate(zip(dims, depths)):
            blocks = [RepVitDown(dims[i - 1], c)] if i else []
            blocks += [RepVitBlock(c, se=(k % 2 == 0)) for k in range(d)]
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)
        self.lateral3, self.lateral4 = Conv2d(dims[2], 256, 1), Conv2d(dims[3], 256, 1)
        self.fuse = nn.Sequential(Conv2d(256, 256, 3, padding=1, bias=False), LayerNorm2d(256))

    def forward(self, image):
        x = self.stem(image)
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        top = F.interpolate(self.lateral4(feats[3]), scale_factor=2, mode='nearest')
        return self.fuse(self.lateral3(feats[2]) + top)


class PointsOnlyDecoder(nn.Module):
    """SAM's decoder fed points only (EdgeSAM, EfficientViT-SAM): 4 low-res masks and their scores."""

    def __init__(self):
        super().__init__()
        self.core = MaskDecoderOnnx()

    def forward(self, image_embeddings, point_coords, point_labels):
        sparse = self.core.sparse_prompt(point_coords, point_labels)
        low_res, iou, _ = self.core.decode(image_embeddings, sparse, self.core.no_mask_prompt())
        return iou, low_res


# ---------------------------------------------------------------- EfficientViT-SAM-L0

class MBConv(nn.Module):
    def __init__(self, c_in, c_out, stride=1, expand=4, fused=False):
        super().__init__()
        h = c_in * expand
        if fused:
            self.body = nn.Sequential(ConvBN(c_in, h, 3, stride, 1), nn.Hardswish(), ConvBN(h, c_out))
        else:
            self.body = nn.Sequential(ConvBN(c_in, h), nn.Hardswish(), ConvBN(h, h, 3, stride, 1, groups=h), nn.Hardswish(), ConvBN(h, c_out))
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class LiteMLA(nn.Module):
    """EfficientViT's multi-scale ReLU linear attention (head dim 32; 5×5 aggregation branch)."""

    def __init__(self, c, head_dim=32):
        super().__init__()
        self.heads = c // head_dim
        self.qkv = ConvBN(c, 3 * c)
        self.aggregate = nn.Sequential(Conv2d(3 * c, 3 * c, 5, padding=2, groups=3 * c, bias=False),
                                       Conv2d(3 * c, 3 * c, 1, groups=3 * self.heads, bias=False))
        self.proj = ConvBN(2 * c, c)

    def attend(self, qkv):
        b, _, h, w = qkv.shape
        qkv = qkv.reshape(b, -1, 3 * 32, h * w).transpose(-1, -2)
        q, k, v = F.relu(qkv[..., :32]), F.relu(qkv[..., 32:64]), qkv[..., 64:]
        v = F.pad(v, (0, 1), value=1.0)
        count(2 * qkv.shape[0] * qkv.shape[1] * h * w * 32 * 33)
        out = q @ (k.transpose(-1, -2) @ v)
        out = out[..., :-1] / (out[..., -1:] + 1e-15)
        return out.transpose(-1, -2).reshape(b, -1, h, w)

    def forward(self, x):
        qkv = self.qkv(x)
        return self.proj(torch.cat([self.attend(qkv), self.attend(self.aggregate(qkv))], 1))


class EfficientVitBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.context = LiteMLA(c)
        self.local = MBConv(c, c)

    def forward(self, x):
        x = x + self.context(x)
        return self.local(x)


class EfficientVitSamEncoder(nn.Module):
    """EfficientViT-SAM-L0 at 512: widths 32/64/128/256/512, depths 1/1/1/4/4; a neck fusing strides 8–32 at 64×64."""

    def __init__(self, widths=(32, 64, 128, 256, 512), depths=(1, 1, 1, 4, 4)):
        super().__init__()
        self.stem = nn.Sequential(ConvBN(3, widths[0], 3, 2, 1), nn.Hardswish(), *[MBConv(widths[0], widths[0], expand=1, fused=True) for _ in range(depths[0])])
        self.stage1 = nn.Sequential(MBConv(widths[0], widths[1], 2, 16, fused=True), *[MBConv(widths[1], widths[1], fused=True) for _ in range(depths[1])])
        self.stage2 = nn.Sequential(MBConv(widths[1], widths[2], 2, 16, fused=True), *[MBConv(widths[2], widths[2], fused=True) for _ in range(depths[2])])
        self.stage3 = nn.Sequential(MBConv(widths[2], widths[3], 2, 16), *[EfficientVitBlock(widths[3]) for _ in range(depths[3])])
        self.stage4 = nn.Sequential(MBConv(widths[3], widths[4], 2, 24), *[EfficientVitBlock(widths[4]) for _ in range(depths[4])])
        self.inputs = nn.ModuleList([ConvBN(widths[4], 256), ConvBN(widths[3], 256), ConvBN(widths[2], 256)])
        self.head = nn.Sequential(*[MBConv(256, 256, expand=1, fused=True) for _ in range(4)], Conv2d(256, 256, 1), LayerNorm2d(256))

    def forward(self, input_image):
        s2 = self.stage2(self.stage1(self.stem(input_image)))
        s3 = self.stage3(s2)
        s4 = self.stage4(s3)
        size = s2.shape[-2:]
        fused = sum(F.interpolate(conv(f), size=size, mode='bicubic', align_corners=False) if f.shape[-1] != size[-1] else conv(f)
                    for conv, f in zip(self.inputs, (s4, s3, s2)))
        return self.head(fused)


class EfficientVitSamDecoder(PointsOnlyDecoder):
    def forward(self, image_embeddings, point_coords, point_labels):
        iou, low_res = super().forward(image_embeddings, point_coords, point_labels)
        return low_res, iou


# ---------------------------------------------------------------- SAM 2.1 tiny (Hiera-T)

def windows(x, w):
    b, h, wd, c = x.shape
    ph, pw = (w - h % w) % w, (w - wd % w) % w
    x = F.pad(x, (0, 0, 0, pw, 0, ph))
    hp, wp = h + ph, wd + pw
    return x.reshape(b, hp // w, w, wp // w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, w * w, c), (hp, wp)


def unwindows(x, w, hp, wp, h, wd):
    b = x.shape[0] // ((hp // w) * (wp // w))
    return x.reshape(b, hp // w, wp // w, w, w, -1).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, -1)[:, :h, :wd]


class HieraBlock(nn.Module):
    """Hiera's multi-scale block: windowed (or global) attention, with 2×2 query pooling where a stage begins."""

    def __init__(self, dim, dim_out, heads, window, pool):
        super().__init__()
        self.window, self.pool, self.heads = window, pool, heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim_out)
        self.qkv = Linear(dim, 3 * dim_out)
        self.proj = Linear(dim_out, dim_out)
        self.skip = Linear(dim, dim_out) if dim != dim_out else None
        self.mlp = MLP([dim_out, 4 * dim_out, dim_out], act=nn.GELU)

    def forward(self, x):
        b, h, w, _ = x.shape
        t = self.norm1(x)
        shortcut = x
        if self.skip is not None:
            shortcut = F.max_pool2d(self.skip(t).permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)
        win = self.window or max(h, w)
        parts, (hp, wp) = windows(t, win)
        n = parts.shape[1]
        qkv = self.qkv(parts).reshape(parts.shape[0], n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        if self.pool:
            q = F.max_pool2d(q.reshape(-1, win, win, q.shape[-1]).permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1).reshape(q.shape[0], self.heads, -1, q.shape[-1])
            win, hp, wp, h, w = win // 2, hp // 2, wp // 2, h // 2, w // 2
        d = q.shape[-1]
        count(q.shape[0] * self.heads * q.shape[2] * n * d * 2)
        attn = torch.softmax((q * d ** -0.5) @ k.transpose(-2, -1), -1)
        out = (attn @ v).transpose(1, 2).reshape(q.shape[0], q.shape[2], -1)
        x = shortcut + unwindows(self.proj(out), win, hp, wp, h, w)
        return x + self.mlp(self.norm2(x))


class Sam2Encoder(nn.Module):
    """SAM 2.1 Hiera-T: 96-d, stages 1/2/7/2, heads 1/2/4/8, windows 8/4/14/7, global blocks 5/7/9; FPN to 256-d;
    the decoder's conv_s0/conv_s1 applied to the stride-4/8 levels, as samexporter's encoder export does."""

    def __init__(self, dim=96, stages=(1, 2, 7, 2), heads=(1, 2, 4, 8), windows_=(8, 4, 14, 7), globals_=(5, 7, 9)):
        super().__init__()
        self.patch = Conv2d(3, dim, 7, 4, 3)
        self.pos = nn.Parameter(torch.randn(1, 256, 256, dim) * 0.02)
        blocks, dims, k = [], [], 0
        for s, depth in enumerate(stages):
            for i in range(depth):
                d_in = dim * 2 ** max(s - (i == 0), 0) if s else dim
                d_out = dim * 2 ** s
                # A stage's first block pools its queries, still in the previous stage's windows (as SAM 2's Hiera).
                window = 0 if k in globals_ else windows_[s - 1 if (i == 0 and s) else s]
                blocks.append(HieraBlock(d_in, d_out, heads[s], window, pool=(i == 0 and s > 0)))
                k += 1
            dims.append(dim * 2 ** s)
        self.blocks = nn.ModuleList(blocks)
        self.stage_ends = [sum(stages[:s + 1]) - 1 for s in range(4)]
        self.lateral = nn.ModuleList(Conv2d(c, 256, 1) for c in dims)
        self.conv_s0, self.conv_s1 = Conv2d(256, 32, 1), Conv2d(256, 64, 1)
        self.no_mem = nn.Parameter(torch.randn(1, 256, 1, 1) * 0.02)

    def forward(self, image):
        x = self.patch(image).permute(0, 2, 3, 1) + self.pos
        feats = []
        for k, blk in enumerate(self.blocks):
            x = blk(x)
            if k in self.stage_ends:
                feats.append(x.permute(0, 3, 1, 2))
        levels = [conv(f) for conv, f in zip(self.lateral, feats)]
        # Top-down fusion into the stride-16 level only (SAM 2's fpn_top_down_levels); the stride-32 level is dropped.
        embed = levels[2] + F.interpolate(levels[3], scale_factor=2, mode='nearest')
        return self.conv_s0(levels[0]), self.conv_s1(levels[1]), embed + self.no_mem


class Sam2DecoderCore(MaskDecoderOnnx):
    """SAM 2's decoder: SAM's, plus an object-score token and the stride-4/8 features added while upscaling."""

    def __init__(self):
        super().__init__()
        self.obj_token = nn.Parameter(torch.randn(1, 256))
        self.up1, self.up2 = ConvTranspose2d(256, 64, 2, 2), ConvTranspose2d(64, 32, 2, 2)
        self.up_norm = LayerNorm2d(64)
        del self.upscale

    def output_tokens(self):
        return torch.cat([self.obj_token, self.iou_token, self.mask_tokens], 0)

    def upscale_embedding(self, src, high_res):
        s0, s1 = high_res
        x = F.gelu(self.up_norm(self.up1(src) + s1))
        return F.gelu(self.up2(x) + s0)


class Sam2Decoder(nn.Module):
    """samexporter's SAM 2 decoder: prompts in the 1024 frame, padded inside; 3 multimask outputs."""

    def __init__(self):
        super().__init__()
        self.core = Sam2DecoderCore()

    def forward(self, image_embed, high_res_feats_0, high_res_feats_1, point_coords, point_labels, mask_input, has_mask_input):
        b = point_coords.shape[0]
        coords = torch.cat([point_coords, torch.zeros(b, 1, 2)], 1)
        labels = torch.cat([point_labels, -torch.ones(b, 1)], 1)
        sparse = self.core.sparse_prompt(coords, labels)
        # As samexporter writes it: has_mask_input [n] unreshaped (it broadcasts on the width), and the
        # mask output clamped to ±32.
        dense = has_mask_input * self.core.mask_downscale(mask_input) + (1 - has_mask_input) * self.core.no_mask_prompt()
        low_res, iou, _ = self.core.decode(image_embed, sparse, dense, (high_res_feats_0, high_res_feats_1))
        return torch.clamp(low_res[:, 1:], -32.0, 32.0), iou[:, 1:]
