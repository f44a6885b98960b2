"""Layers of the benchmark networks, counting their multiply-accumulates as they run.

The counting layers add to MACS during a call; make_bench_models.py resets
it, runs one call and reads it, so every count comes from the real shapes.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

MACS = [0]  # multiply-accumulates counted during one traced call


def count(n):
    MACS[0] += int(n)


class Linear(nn.Linear):
    def forward(self, x):
        count(x.numel() // x.shape[-1] * self.in_features * self.out_features)
        return super().forward(x)


class Conv2d(nn.Conv2d):
    def forward(self, x):
        y = super().forward(x)
        k = self.kernel_size[0] * self.kernel_size[1] * self.in_channels // self.groups
        count(y.numel() * k)
        return y


class ConvTranspose2d(nn.ConvTranspose2d):
    def forward(self, x):
        y = super().forward(x)
        count(x.numel() * self.out_channels * self.kernel_size[0] * self.kernel_size[1])
        return y


class LayerNorm2d(nn.Module):
    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x):
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        return self.weight[:, None, None] * ((x - u) / torch.sqrt(s + self.eps)) + self.bias[:, None, None]


class MLP(nn.Module):
    def __init__(self, dims, act=nn.ReLU, sigmoid=False):
        super().__init__()
        self.layers = nn.ModuleList(Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.act = act()

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = self.act(x)
        return x


# ---------------------------------------------------------------- mask decoder

class Attention(nn.Module):
    """Multi-head attention with an optional smaller internal width (SAM's downsample_rate).

    scaled_inputs: scale q and kᵀ by √(1/√d) each before their product, as PyTorch 2
    exports scaled_dot_product_attention (SAM 2's decoder), instead of dividing the scores.
    """

    def __init__(self, dim, heads, downsample=1, scaled_inputs=False):
        super().__init__()
        self.inner = dim // downsample
        self.heads = heads
        self.scaled_inputs = scaled_inputs
        self.q, self.k, self.v = Linear(dim, self.inner), Linear(dim, self.inner), Linear(dim, self.inner)
        self.out = Linear(self.inner, dim)

    def split(self, x):
        b, n, c = x.shape
        return x.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)

    def forward(self, q, k, v):
        q, k, v = self.split(self.q(q)), self.split(self.k(k)), self.split(self.v(v))
        d = q.shape[-1]
        count(q.shape[0] * q.shape[1] * q.shape[2] * k.shape[2] * d * 2)  # q·kᵀ and attn·v
        if self.scaled_inputs:
            s = math.sqrt(1 / math.sqrt(d))
            attn = torch.softmax((q * s) @ (k.transpose(-2, -1) * s), dim=-1)
        else:
            attn = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d), dim=-1)
        x = (attn @ v).transpose(1, 2)
        return self.out(x.reshape(x.shape[0], x.shape[1], self.inner))


class TwoWayBlock(nn.Module):
    def __init__(self, dim=256, heads=8, mlp=2048, skip_first_pe=False):
        super().__init__()
        self.self_attn = Attention(dim, heads)
        self.cross_t2i = Attention(dim, heads, 2)
        self.cross_i2t = Attention(dim, heads, 2)
        self.mlp = MLP([dim, mlp, dim])
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(4))
        self.skip_first_pe = skip_first_pe

    def forward(self, queries, keys, query_pe, key_pe):
        if self.skip_first_pe:
            queries = self.self_attn(queries, queries, queries)
        else:
            q = queries + query_pe
            queries = queries + self.self_attn(q, q, queries)
        queries = self.norms[0](queries)
        queries = self.norms[1](queries + self.cross_t2i(queries + query_pe, keys + key_pe, keys))
        queries = self.norms[2](queries + self.mlp(queries))
        keys = self.norms[3](keys + self.cross_i2t(keys + key_pe, queries + query_pe, queries))
        return queries, keys


class MaskDecoderOnnx(nn.Module):
    """Prompt encoder + two-way transformer + mask/IoU heads, fed like the official decoder export."""

    def __init__(self, dim=256, tokens=4, image_size=1024, embed_size=64, mlp=2048, iou_hidden=256, heads=8, final_scaled_inputs=False):
        super().__init__()
        self.dim, self.tokens, self.image_size, self.embed_size = dim, tokens, image_size, embed_size
        self.register_buffer('gaussian', torch.randn(2, dim // 2))
        self.point_embeddings = nn.Parameter(torch.randn(4, dim))
        self.not_a_point = nn.Parameter(torch.randn(dim))
        self.no_mask = nn.Parameter(torch.randn(dim))
        self.mask_downscale = nn.Sequential(Conv2d(1, 4, 2, 2), LayerNorm2d(4), nn.GELU(), Conv2d(4, 16, 2, 2), LayerNorm2d(16), nn.GELU(), Conv2d(16, dim, 1))
        self.iou_token = nn.Parameter(torch.randn(1, dim))
        self.mask_tokens = nn.Parameter(torch.randn(tokens, dim))
        self.blocks = nn.ModuleList([TwoWayBlock(dim, heads, mlp, skip_first_pe=True), TwoWayBlock(dim, heads, mlp)])
        self.final_attn = Attention(dim, heads, 2, scaled_inputs=final_scaled_inputs)
        self.final_norm = nn.LayerNorm(dim)
        self.upscale = nn.Sequential(ConvTranspose2d(dim, dim // 4, 2, 2), LayerNorm2d(dim // 4), nn.GELU(), ConvTranspose2d(dim // 4, dim // 8, 2, 2), nn.GELU())
        self.hyper = nn.ModuleList(MLP([dim, dim, dim, dim // 8]) for _ in range(tokens))
        self.iou_head = MLP([dim, iou_hidden, iou_hidden, tokens])

    def pe(self, xy01):
        x = (2 * xy01 - 1) @ self.gaussian * (2 * math.pi)
        return torch.cat([torch.sin(x), torch.cos(x)], dim=-1)

    def sparse_prompt(self, point_coords, point_labels):
        """Positional encoding of each point (in the image_size frame) plus the embedding of its label."""
        sparse = self.pe((point_coords + 0.5) / self.image_size)
        lab = point_labels.unsqueeze(-1)
        sparse = sparse * (lab != -1) + self.not_a_point * (lab == -1)
        for i in range(4):
            sparse = sparse + self.point_embeddings[i] * (lab == i)
        return sparse

    def dense_prompt(self, mask_input, has_mask_input):
        """The mask input, or the no-mask embedding."""
        has = has_mask_input.reshape(-1, 1, 1, 1)
        return has * self.mask_downscale(mask_input) + (1 - has) * self.no_mask.reshape(1, -1, 1, 1)

    def no_mask_prompt(self):
        return self.no_mask.reshape(1, -1, 1, 1)

    def output_tokens(self):
        return torch.cat([self.iou_token, self.mask_tokens], 0)

    def upscale_embedding(self, src, high_res):
        return self.upscale(src)

    def decode(self, image_embeddings, sparse, dense, high_res=None):
        """Two-way transformer and heads: low-res logits [b, tokens, 4e, 4e] and IoU predictions [b, tokens]."""
        b = sparse.shape[0]
        grid = (torch.arange(self.embed_size, dtype=torch.float32) + 0.5) / self.embed_size
        yy, xx = torch.meshgrid(grid, grid, indexing='ij')
        image_pe = self.pe(torch.stack([xx, yy], dim=-1)).permute(2, 0, 1).unsqueeze(0)
        out_tokens = self.output_tokens()
        tokens = torch.cat([out_tokens.unsqueeze(0).expand(b, -1, -1), sparse], 1)
        src = image_embeddings.expand(b, -1, -1, -1) + dense
        keys = src.flatten(2).transpose(1, 2)
        key_pe = image_pe.flatten(2).transpose(1, 2).expand(b, -1, -1)
        queries = tokens
        for block in self.blocks:
            queries, keys = block(queries, keys, tokens, key_pe)
        queries = self.final_norm(queries + self.final_attn(queries + tokens, keys + key_pe, keys))
        # The IoU token sits just before the mask tokens (SAM 2 puts its object-score token first).
        first_mask = out_tokens.shape[0] - self.tokens
        iou_out, mask_out = queries[:, first_mask - 1], queries[:, first_mask:first_mask + self.tokens]
        up = self.upscale_embedding(keys.transpose(1, 2).reshape(b, self.dim, self.embed_size, self.embed_size), high_res)
        hyper = torch.stack([self.hyper[i](mask_out[:, i]) for i in range(self.tokens)], 1)
        count(b * self.tokens * hyper.shape[-1] * up.shape[-1] * up.shape[-2])
        low_res = (hyper @ up.flatten(2)).reshape(b, self.tokens, up.shape[-2], up.shape[-1])
        return low_res, self.iou_head(iou_out), queries

    def forward(self, image_embeddings, point_coords, point_labels, mask_input, has_mask_input, orig_im_size):
        sparse = self.sparse_prompt(point_coords, point_labels)
        dense = self.dense_prompt(mask_input, has_mask_input)
        low_res, iou, _ = self.decode(image_embeddings, sparse, dense)
        # Like the official export, the graph also upscales to the 1024 frame (sam-amg reads low_res_masks);
        # orig_im_size must take part, or the exporter drops the input the contract requires.
        keep = (orig_im_size[0] * 0 + 1).reshape(1, 1, 1, 1)
        masks = F.interpolate(low_res, scale_factor=4, mode='bilinear', align_corners=False) * keep
        return masks, iou, low_res


# ---------------------------------------------------------------- ViT-B image encoder

def rel_pos(size_q, size_k, table):
    coords = torch.arange(size_q)[:, None] - torch.arange(size_k)[None, :] + (size_k - 1)
    return table[coords.long()]


class VitAttention(nn.Module):
    def __init__(self, dim, heads, size, rel=True):
        super().__init__()
        self.heads = heads
        self.rel = rel
        self.qkv = Linear(dim, dim * 3)
        self.proj = Linear(dim, dim)
        hd = dim // heads
        if rel:
            self.rel_h = nn.Parameter(torch.randn(2 * size - 1, hd) * 0.02)
            self.rel_w = nn.Parameter(torch.randn(2 * size - 1, hd) * 0.02)

    def forward(self, x):
        b, h, w, c = x.shape
        qkv = self.qkv(x).reshape(b, h * w, 3, self.heads, -1).permute(2, 0, 3, 1, 4).reshape(3, b * self.heads, h * w, -1)
        q, k, v = qkv[0], qkv[1], qkv[2]
        d = q.shape[-1]
        count(b * self.heads * (h * w) * (h * w) * d * 2)
        attn = (q * d ** -0.5) @ k.transpose(-2, -1)
        if not self.rel:
            x = (torch.softmax(attn, -1) @ v).reshape(b, self.heads, h, w, -1).permute(0, 2, 3, 1, 4).reshape(b, h, w, -1)
            return self.proj(x)
        # Decomposed relative positions, as SAM's image encoder adds them.
        rq = q.reshape(b * self.heads, h, w, d)
        rh = torch.einsum('bhwc,hkc->bhwk', rq, rel_pos(h, h, self.rel_h))
        rw = torch.einsum('bhwc,wkc->bhwk', rq, rel_pos(w, w, self.rel_w))
        count(b * self.heads * h * w * (h + w) * d)
        attn = (attn.reshape(-1, h, w, h, w) + rh[:, :, :, :, None] + rw[:, :, :, None, :]).reshape(-1, h * w, h * w)
        x = (torch.softmax(attn, -1) @ v).reshape(b, self.heads, h, w, -1).permute(0, 2, 3, 1, 4).reshape(b, h, w, -1)
        return self.proj(x)


class VitBlock(nn.Module):
    def __init__(self, dim, heads, window, rel=True):
        super().__init__()
        self.window = window
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = VitAttention(dim, heads, window if window else 64, rel)
        self.mlp = MLP([dim, dim * 4, dim], act=nn.GELU)

    def forward(self, x):
        shortcut = x
        x = self.norm1(x)
        if self.window:
            b, h, w, c = x.shape
            ws = self.window
            ph, pw = (ws - h % ws) % ws, (ws - w % ws) % ws
            x = F.pad(x, (0, 0, 0, pw, 0, ph))
            hp, wp = h + ph, w + pw
            x = x.reshape(b, hp // ws, ws, wp // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws, ws, c)
            x = self.attn(x)
            x = x.reshape(b, hp // ws, wp // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)[:, :h, :w]
        else:
            x = self.attn(x)
        x = shortcut + x
        return x + self.mlp(self.norm2(x))


class VitB(nn.Module):
    """SAM's ViT image encoder (defaults: ViT-B): 16×16 patches, 12 blocks of 768-d, 14×14 windows with 4 global blocks, a 256-d neck."""

    def __init__(self, dim=768, depth=12, heads=12, window=14, globals_=(2, 5, 8, 11), rel=True):
        super().__init__()
        self.patch = Conv2d(3, dim, 16, 16)
        self.pos = nn.Parameter(torch.randn(1, 64, 64, dim) * 0.02)
        self.blocks = nn.ModuleList(VitBlock(dim, heads, 0 if i in globals_ else window, rel) for i in range(depth))
        self.neck = nn.Sequential(Conv2d(dim, 256, 1, bias=False), LayerNorm2d(256), Conv2d(256, 256, 3, padding=1, bias=False), LayerNorm2d(256))

    def forward(self, x):
        x = self.patch(x).permute(0, 2, 3, 1) + self.pos
        for blk in self.blocks:
            x = blk(x)
        return self.neck(x.permute(0, 3, 1, 2))


# ---------------------------------------------------------------- TinyViT-5M (MobileSAM)

class ConvBN(nn.Sequential):
    def __init__(self, a, b, k=1, s=1, p=0, groups=1):
        super().__init__(Conv2d(a, b, k, s, p, groups=groups, bias=False), nn.BatchNorm2d(b))


class MBConv(nn.Module):
    def __init__(self, c, expand=4):
        super().__init__()
        h = c * expand
        self.body = nn.Sequential(ConvBN(c, h), nn.GELU(), ConvBN(h, h, 3, 1, 1, groups=h), nn.GELU(), ConvBN(h, c))
        self.act = nn.GELU()

    def forward(self, x):
        return self.act(x + self.body(x))


class PatchMerging(nn.Module):
    def __init__(self, a, b, stride):
        super().__init__()
        self.body = nn.Sequential(ConvBN(a, b), nn.GELU(), ConvBN(b, b, 3, stride, 1, groups=b), nn.GELU(), ConvBN(b, b))

    def forward(self, x):
        return self.body(x)


class TinyAttention(nn.Module):
    def __init__(self, dim, heads, window):
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(dim)
        self.qkv = Linear(dim, dim * 3)
        self.proj = Linear(dim, dim)
        self.bias = nn.Parameter(torch.zeros(heads, window * window, window * window))

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(self.norm(x)).reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        d = q.shape[-1]
        count(b * self.heads * n * n * d * 2)
        attn = torch.softmax((q * d ** -0.5) @ k.transpose(-2, -1) + self.bias, -1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class TinyBlock(nn.Module):
    """Window attention, a depthwise 3×3 local conv, an MLP (TinyViT's block)."""

    def __init__(self, dim, heads, window):
        super().__init__()
        self.window = window
        self.attn = TinyAttention(dim, heads, window)
        self.local = ConvBN(dim, dim, 3, 1, 1, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.mlp = MLP([dim, dim * 4, dim], act=nn.GELU)

    def forward(self, x, h, w):
        b, n, c = x.shape
        ws = self.window
        t = x.reshape(b, h, w, c)
        ph, pw = (ws - h % ws) % ws, (ws - w % ws) % ws
        t = F.pad(t, (0, 0, 0, pw, 0, ph))
        hp, wp = h + ph, w + pw
        t = t.reshape(b, hp // ws, ws, wp // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, c)
        t = self.attn(t).reshape(b, hp // ws, wp // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)[:, :h, :w]
        x = x + t.reshape(b, n, c)
        x = self.local(x.transpose(1, 2).reshape(b, c, h, w)).reshape(b, c, n).transpose(1, 2)
        return x + self.mlp(self.norm(x))


class TinyVit5M(nn.Module):
    """MobileSAM's image encoder: TinyViT-5M at 1024 (dims 64/128/160/320, depths 2/2/6/2), a 256-d neck."""

    def __init__(self, dims=(64, 128, 160, 320), depths=(2, 2, 6, 2), heads=(2, 4, 5, 10), windows=(7, 7, 14, 7)):
        super().__init__()
        self.embed = nn.Sequential(ConvBN(3, dims[0] // 2, 3, 2, 1), nn.GELU(), ConvBN(dims[0] // 2, dims[0], 3, 2, 1))
        self.stage0 = nn.Sequential(*[MBConv(dims[0]) for _ in range(depths[0])])
        self.merges = nn.ModuleList([PatchMerging(dims[0], dims[1], 2), PatchMerging(dims[1], dims[2], 2), PatchMerging(dims[2], dims[3], 1)])
        self.stages = nn.ModuleList(nn.ModuleList(TinyBlock(dims[i], heads[i], windows[i]) for _ in range(depths[i])) for i in (1, 2, 3))
        self.neck = nn.Sequential(Conv2d(dims[3], 256, 1, bias=False), LayerNorm2d(256), Conv2d(256, 256, 3, padding=1, bias=False), LayerNorm2d(256))

    def forward(self, x):
        x = self.stage0(self.embed(x))
        for merge, stage in zip(self.merges, self.stages):
            x = merge(x)
            b, c, h, w = x.shape
            t = x.flatten(2).transpose(1, 2)
            for blk in stage:
                t = blk(t, h, w)
            x = t.transpose(1, 2).reshape(b, c, h, w)
        return self.neck(x)
