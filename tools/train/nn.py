"""nn.py — the two default-model architectures in plain PyTorch, written so that state_dict()
holds exactly the tensor names and layouts of Hugging Face transformers' MarianMTModel and
T5ForConditionalGeneration (4.35): export is a rename-free dump, and transformers (or attnserve)
loads the result like any downloaded checkpoint.

The arithmetic follows transformers' modeling_marian.py and modeling_t5.py:
  Marian: embeddings x sqrt(d_model) + sinusoidal positions (sines in the first half of the
          columns, cosines in the second, positions from 0, not stored), post-LayerNorm blocks,
          SiLU, q scaled by head_dim^-0.5, logits = h . shared^T + final_logits_bias.
  T5:     no embedding scale, RMSNorm before each sub-layer and at the end of each stack,
          bucketed relative position bias computed in layer 0 and shared by the stack, scores
          not scaled, ReLU feed-forward without biases, tied head with d_model^-0.5.
Also: greedy decoding for validation during training (the C engine and transformers do the
real decoding).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

NEG = -1e9  # additive mask value (finite: bf16/fp32-safe; every row keeps one open key)


def sinusoidal_table(n_pos, dim):
    """Marian's position table: column j < dim/2 is sin(p / 10000^(2j/dim)), column dim/2 + j the
    cosine; computed in float64 and rounded to float32 as transformers does."""
    pos = torch.arange(n_pos, dtype=torch.float64)[:, None]
    j = torch.arange(dim // 2, dtype=torch.float64)[None, :]
    ang = pos / torch.pow(10000.0, 2 * j / dim)
    return torch.cat([torch.sin(ang), torch.cos(ang)], dim=1).float()


def pad_mask(ids, pad_id):
    """[B, S] ids -> additive mask [B, 1, 1, S]: 0 for tokens, NEG for padding."""
    return (ids == pad_id).float()[:, None, None, :] * NEG


def causal_mask(t, device):
    return torch.triu(torch.full((t, t), NEG, device=device), diagonal=1)[None, None]


# ------------------------------------------------------------------------------------- Marian


class MarianAttention(nn.Module):
    def __init__(self, d, h, attn_dropout):
        super().__init__()
        self.h, self.dh = h, d // h
        self.scaling = self.dh ** -0.5
        self.q_proj, self.k_proj = nn.Linear(d, d), nn.Linear(d, d)
        self.v_proj, self.out_proj = nn.Linear(d, d), nn.Linear(d, d)
        self.attn_dropout = attn_dropout

    def forward(self, x, kv, mask):
        b, t, d = x.shape
        s = kv.shape[1]
        q = (self.q_proj(x) * self.scaling).view(b, t, self.h, self.dh).transpose(1, 2)
        k = self.k_proj(kv).view(b, s, self.h, self.dh).transpose(1, 2)
        v = self.v_proj(kv).view(b, s, self.h, self.dh).transpose(1, 2)
        w = torch.matmul(q, k.transpose(-1, -2)).float() + mask
        w = F.dropout(torch.softmax(w, dim=-1), self.attn_dropout, self.training).to(v.dtype)
        o = torch.matmul(w, v).transpose(1, 2).reshape(b, t, d)
        return self.out_proj(o)


class MarianEncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["d_model"]
        self.self_attn = MarianAttention(d, c["encoder_attention_heads"], c["attention_dropout"])
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.fc1, self.fc2 = nn.Linear(d, c["encoder_ffn_dim"]), nn.Linear(c["encoder_ffn_dim"], d)
        self.final_layer_norm = nn.LayerNorm(d)
        self.p = c["dropout"]

    def forward(self, h, mask):
        h = self.self_attn_layer_norm(h + F.dropout(self.self_attn(h, h, mask), self.p,
                                                    self.training))
        f = self.fc2(F.silu(self.fc1(h)))
        return self.final_layer_norm(h + F.dropout(f, self.p, self.training))


class MarianDecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["d_model"]
        self.self_attn = MarianAttention(d, c["decoder_attention_heads"], c["attention_dropout"])
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.encoder_attn = MarianAttention(d, c["decoder_attention_heads"],
                                            c["attention_dropout"])
        self.encoder_attn_layer_norm = nn.LayerNorm(d)
        self.fc1, self.fc2 = nn.Linear(d, c["decoder_ffn_dim"]), nn.Linear(c["decoder_ffn_dim"], d)
        self.final_layer_norm = nn.LayerNorm(d)
        self.p = c["dropout"]

    def forward(self, h, enc, self_mask, cross_mask):
        dr = lambda x: F.dropout(x, self.p, self.training)  # noqa: E731
        h = self.self_attn_layer_norm(h + dr(self.self_attn(h, h, self_mask)))
        h = self.encoder_attn_layer_norm(h + dr(self.encoder_attn(h, enc, cross_mask)))
        return self.final_layer_norm(h + dr(self.fc2(F.silu(self.fc1(h)))))


class _Stack(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)


class _MarianModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.shared = nn.Embedding(c["vocab_size"], c["d_model"])
        self.encoder = _Stack([MarianEncoderLayer(c) for _ in range(c["encoder_layers"])])
        self.decoder = _Stack([MarianDecoderLayer(c) for _ in range(c["decoder_layers"])])


class Marian(nn.Module):
    """MarianMTModel with shared embeddings (model.shared = encoder/decoder embed_tokens =
    lm_head, stored once as save_pretrained does)."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        self.model = _MarianModel(c)
        self.register_buffer("final_logits_bias", torch.zeros(1, c["vocab_size"]))
        self.register_buffer("pos", sinusoidal_table(c["max_position_embeddings"], c["d_model"]),
                             persistent=False)
        self.embed_scale = math.sqrt(c["d_model"]) if c.get("scale_embedding", True) else 1.0
        self.reset_parameters()

    def reset_parameters(self):
        std = self.c.get("init_std", 0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=std)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, std=std)
                m.weight.data[self.c["pad_token_id"]].zero_()

    def embed(self, ids):
        x = self.model.shared(ids) * self.embed_scale + self.pos[: ids.shape[1]]
        return F.dropout(x, self.c["dropout"], self.training)

    def encode(self, src):
        mask = pad_mask(src, self.c["pad_token_id"])
        h = self.embed(src)
        for layer in self.model.encoder.layers:
            h = layer(h, mask)
        return h, mask

    def decode(self, dec_in, enc, cross_mask):
        h = self.embed(dec_in)
        self_mask = causal_mask(dec_in.shape[1], dec_in.device)
        for layer in self.model.decoder.layers:
            h = layer(h, enc, self_mask, cross_mask)
        return F.linear(h, self.model.shared.weight) + self.final_logits_bias

    def forward(self, src, dec_in):
        enc, mask = self.encode(src)
        return self.decode(dec_in, enc, mask)

    def export_state(self):
        """The tensors of a transformers MarianMTModel checkpoint (tied ones once)."""
        return {k: v for k, v in self.state_dict().items() if k != "pos"}


# ----------------------------------------------------------------------------------------- T5


def t5_bucket(rel, bidirectional, n_buckets, max_distance):
    """transformers' T5Attention._relative_position_bucket (rel = key_pos - query_pos)."""
    out = torch.zeros_like(rel)
    if bidirectional:
        n_buckets //= 2
        out = out + (rel > 0).long() * n_buckets
        n = rel.abs()
    else:
        n = -torch.min(rel, torch.zeros_like(rel))
    max_exact = n_buckets // 2
    large = max_exact + (torch.log(n.float() / max_exact) / math.log(max_distance / max_exact)
                         * (n_buckets - max_exact)).long()
    large = torch.min(large, torch.full_like(large, n_buckets - 1))
    return out + torch.where(n < max_exact, n, large)


class T5Norm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        var = x.float().pow(2).mean(-1, keepdim=True)
        return self.weight * (x.float() * torch.rsqrt(var + self.eps)).to(x.dtype)


class T5Attention(nn.Module):
    def __init__(self, c, has_bias, bidirectional):
        super().__init__()
        d, self.h, self.dkv = c["d_model"], c["num_heads"], c["d_kv"]
        inner = self.h * self.dkv
        self.q, self.k = nn.Linear(d, inner, bias=False), nn.Linear(d, inner, bias=False)
        self.v, self.o = nn.Linear(d, inner, bias=False), nn.Linear(inner, d, bias=False)
        self.c, self.bidirectional = c, bidirectional
        if has_bias:
            self.relative_attention_bias = nn.Embedding(c["relative_attention_num_buckets"],
                                                        self.h)

    def position_bias(self, t, s, device):
        q = torch.arange(t, device=device)[:, None]
        k = torch.arange(s, device=device)[None, :]
        b = t5_bucket(k - q, self.bidirectional, self.c["relative_attention_num_buckets"],
                      self.c["relative_attention_max_distance"])
        return self.relative_attention_bias(b).permute(2, 0, 1)[None]  # [1, H, T, S]

    def forward(self, x, kv, bias):
        b, t, _ = x.shape
        s = kv.shape[1]
        q = self.q(x).view(b, t, self.h, self.dkv).transpose(1, 2)
        k = self.k(kv).view(b, s, self.h, self.dkv).transpose(1, 2)
        v = self.v(kv).view(b, s, self.h, self.dkv).transpose(1, 2)
        w = torch.matmul(q, k.transpose(-1, -2)).float() + bias
        w = F.dropout(torch.softmax(w, dim=-1), self.c["dropout_rate"], self.training)
        o = torch.matmul(w.to(v.dtype), v).transpose(1, 2).reshape(b, t, self.h * self.dkv)
        return self.o(o)


class _T5Sub(nn.Module):
    """One T5 sub-layer: layer_norm + SelfAttention / EncDecAttention / DenseReluDense."""

    def __init__(self, c, kind, has_bias=False, bidirectional=True):
        super().__init__()
        if kind == "self":
            self.SelfAttention = T5Attention(c, has_bias, bidirectional)
        elif kind == "cross":
            self.EncDecAttention = T5Attention(c, False, False)
        else:
            self.DenseReluDense = _T5FF(c)
        self.layer_norm = T5Norm(c["d_model"], c["layer_norm_epsilon"])


class _T5FF(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wi = nn.Linear(c["d_model"], c["d_ff"], bias=False)
        self.wo = nn.Linear(c["d_ff"], c["d_model"], bias=False)
        self.p = c["dropout_rate"]

    def forward(self, x):
        return self.wo(F.dropout(F.relu(self.wi(x)), self.p, self.training))


class _T5Block(nn.Module):
    def __init__(self, c, decoder, first):
        super().__init__()
        subs = [_T5Sub(c, "self", first, not decoder)]
        if decoder:
            subs.append(_T5Sub(c, "cross"))
        subs.append(_T5Sub(c, "ff"))
        self.layer = nn.ModuleList(subs)


class _T5Stack(nn.Module):
    def __init__(self, c, decoder):
        super().__init__()
        n = c["num_decoder_layers"] if decoder else c["num_layers"]
        self.block = nn.ModuleList([_T5Block(c, decoder, i == 0) for i in range(n)])
        self.final_layer_norm = T5Norm(c["d_model"], c["layer_norm_epsilon"])
        self.decoder = decoder
        self.p = c["dropout_rate"]

    def forward(self, h, mask, enc=None, cross_mask=None):
        dr = lambda x: F.dropout(x, self.p, self.training)  # noqa: E731
        t = h.shape[1]
        bias = self.block[0].layer[0].SelfAttention.position_bias(t, t, h.device) + mask
        h = dr(h)
        for blk in self.block:
            sa = blk.layer[0]
            n = sa.layer_norm(h)
            h = h + dr(sa.SelfAttention(n, n, bias))
            if self.decoder:
                ca = blk.layer[1]
                n = ca.layer_norm(h)
                h = h + dr(ca.EncDecAttention(n, enc, cross_mask))
            ff = blk.layer[-1]
            h = h + dr(ff.DenseReluDense(ff.layer_norm(h)))
        return dr(self.final_layer_norm(h))


class T5(nn.Module):
    """T5ForConditionalGeneration with the head tied to `shared` (tie_word_embeddings)."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        self.shared = nn.Embedding(c["vocab_size"], c["d_model"])
        self.encoder = _T5Stack(c, False)
        self.decoder = _T5Stack(c, True)
        self.reset_parameters()

    def reset_parameters(self):
        """transformers' T5PreTrainedModel._init_weights (factor 1.0)."""
        d, dkv, h, dff = self.c["d_model"], self.c["d_kv"], self.c["num_heads"], self.c["d_ff"]
        nn.init.normal_(self.shared.weight, std=1.0)
        for m in self.modules():
            if isinstance(m, T5Attention):
                nn.init.normal_(m.q.weight, std=(d * dkv) ** -0.5)
                nn.init.normal_(m.k.weight, std=d ** -0.5)
                nn.init.normal_(m.v.weight, std=d ** -0.5)
                nn.init.normal_(m.o.weight, std=(h * dkv) ** -0.5)
                if hasattr(m, "relative_attention_bias"):
                    nn.init.normal_(m.relative_attention_bias.weight, std=d ** -0.5)
            elif isinstance(m, _T5FF):
                nn.init.normal_(m.wi.weight, std=d ** -0.5)
                nn.init.normal_(m.wo.weight, std=dff ** -0.5)

    def encode(self, src):
        mask = pad_mask(src, self.c["pad_token_id"])
        return self.encoder(self.shared(src), mask), mask

    def decode(self, dec_in, enc, cross_mask):
        h = self.decoder(self.shared(dec_in), causal_mask(dec_in.shape[1], dec_in.device),
                         enc, cross_mask)
        return F.linear(h * self.c["d_model"] ** -0.5, self.shared.weight)

    def forward(self, src, dec_in):
        enc, mask = self.encode(src)
        return self.decode(dec_in, enc, mask)

    def export_state(self):
        return dict(self.state_dict())


# --------------------------------------------------------------------------------- decoding


@torch.no_grad()
def greedy(model, src, start_id, eos_id, pad_id, max_new=64, banned=()):
    """Greedy decoding of a padded batch [B, S]; returns lists of generated ids (eos excluded).
    Recomputes the decoder over the prefix each step (simple; validation only)."""
    enc, mask = model.encode(src)
    b = src.shape[0]
    out = torch.full((b, 1), start_id, dtype=torch.long)
    done = torch.zeros(b, dtype=torch.bool)
    for _ in range(max_new):
        logits = model.decode(out, enc, mask)[:, -1].float()
        for t in banned:
            logits[:, t] = -float("inf")
        nxt = logits.argmax(-1)
        nxt = torch.where(done, torch.full_like(nxt, pad_id), nxt)
        out = torch.cat([out, nxt[:, None]], dim=1)
        done |= nxt == eos_id
        if bool(done.all()):
            break
    res = []
    for row in out[:, 1:].tolist():
        seq = []
        for t in row:
            if t == eos_id:
                break
            seq.append(t)
        res.append(seq)
    return res
