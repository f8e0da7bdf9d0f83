"""rnn.py — the reference implementation of attnserve's `rnn_seq2seq` architecture: the recurrent
encoder-decoder with attention of Bahdanau et al. (2015, additive scores) and Luong et al. (2015,
`dot` and `general` scores, input feeding, local and hard attention), in plain PyTorch. It is the
parity oracle of core/nn/rnn.c (tests/fixtures/rnn/, made by tools/train/make_rnn_fixtures.py) and
the model that train_rnn.py trains. state_dict() names are PyTorch's own (nn.LSTM / nn.GRU /
nn.Linear / nn.Embedding), so the exported model.safetensors is a plain dump.

config.json fields (see docs/rnn_seq2seq.md):
  model_type "rnn_seq2seq"; cell "lstm" | "gru"; vocab_size; embedding_size; hidden_size (the
  decoder's width; the encoder's output is hidden_size wide: hidden_size / 2 per direction when
  bidirectional_encoder); encoder_layers; decoder_layers; attention "additive" | "dot" |
  "general"; input_feeding (Luong variants); local_window (-1 off) and attention_top_k (0 off),
  inference-time options; pad/eos/decoder_start token ids.

The arithmetic (one source of n tokens, target step t from 0):
  encoder:  x_j = E_enc[src_j]; H = (bi)RNN(x) (n, hidden)            -- per-source, no padding
  init:     m = mean_j H_j; h0 = tanh(bridge(m)) for every decoder layer; c0 = 0; feed0 = 0
  keys:     additive: K = key_proj(H); general: K = W(H) (nn.Linear attention.W, no bias);
            dot: K = H                                                 -- once per source
  scores:   additive: e_j = v . tanh(query_proj(q) + K_j); dot/general: e_j = q . K_j
  probs:    softmax over visible j (local window: |j - t| <= local_window); with top_k > 0 only
            the top_k highest visible scores (ties included) keep probability; none visible -> 0
  ctx:      sum_j probs_j H_j
  step, additive (Bahdanau): q = top layer's previous h; ctx = attend(q); h = RNN([E_dec[y]; ctx]);
            a = tanh(combine([h_top; ctx]))
  step, dot/general (Luong): h = RNN([E_dec[y]; feed]) (or E_dec[y] alone without input feeding);
            ctx = attend(h_top); a = tanh(combine([h_top; ctx])); feed = a
  logits:   lm_head(a) (with bias)
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULTS = {"cell": "lstm", "embedding_size": 256, "hidden_size": 384, "encoder_layers": 2,
            "decoder_layers": 1, "bidirectional_encoder": True, "attention": "additive",
            "input_feeding": True, "local_window": -1, "attention_top_k": 0, "dropout": 0.2}


def full_config(c):
    out = dict(DEFAULTS)
    out.update(c)
    out["model_type"] = "rnn_seq2seq"
    return out


def is_bahdanau(c):
    return c["attention"] == "additive"


def dec_input_size(c):
    if is_bahdanau(c) or c["input_feeding"]:
        return c["embedding_size"] + c["hidden_size"]
    return c["embedding_size"]


def _rnn(c, inp, hid, layers, bidirectional, dropout):
    cls = nn.LSTM if c["cell"] == "lstm" else nn.GRU
    return cls(inp, hid, num_layers=layers, bidirectional=bidirectional, batch_first=True,
               dropout=dropout if layers > 1 else 0.0)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.kind = c["attention"]
        if self.kind == "additive":
            self.key_proj = nn.Linear(h, h, bias=False)
            self.query_proj = nn.Linear(h, h, bias=False)
            self.v = nn.Linear(h, 1, bias=False)
        elif self.kind == "general":
            self.W = nn.Linear(h, h, bias=False)
        elif self.kind != "dot":
            raise ValueError(f"attention: {self.kind}")

    def keys(self, enc):
        if self.kind == "additive":
            return self.key_proj(enc)
        if self.kind == "general":
            return self.W(enc)
        return enc

    def scores(self, q, keys):
        """q [B, h], keys [B, S, h] -> [B, S]"""
        if self.kind == "additive":
            return self.v(torch.tanh(self.query_proj(q)[:, None, :] + keys)).squeeze(-1)
        return torch.bmm(keys, q[:, :, None]).squeeze(-1)


def attend_probs(scores, valid, t, window, top_k):
    """scores [B, S] (float32), valid [B, S] bool -> probabilities [B, S] (rows with no visible
    key are all zeros)."""
    vis = valid.clone()
    if window >= 0:
        j = torch.arange(scores.shape[1])[None, :]
        vis &= (j - t).abs() <= window
    s = scores.masked_fill(~vis, float("-inf"))
    if top_k > 0:
        k = min(top_k, s.shape[1])
        kth = s.topk(k, dim=-1).values[:, -1:]
        s = s.masked_fill(s < kth, float("-inf"))
    any_vis = vis.any(-1, keepdim=True)
    s = torch.where(any_vis, s, torch.zeros_like(s))
    p = torch.softmax(s, dim=-1)
    return torch.where(any_vis, p, torch.zeros_like(p))


class Encoder(nn.Module):
    def __init__(self, c, pad_id):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["embedding_size"], padding_idx=pad_id)
        bi = c["bidirectional_encoder"]
        if bi and c["hidden_size"] % 2:
            raise ValueError("hidden_size must be even with a bidirectional encoder")
        self.rnn = _rnn(c, c["embedding_size"], c["hidden_size"] // (2 if bi else 1),
                        c["encoder_layers"], bi, c["dropout"])
        self.p = c["dropout"]

    def forward(self, src, lengths):
        x = F.dropout(self.embed_tokens(src), self.p, self.training)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True,
                                                  total_length=src.shape[1])
        return out


class Decoder(nn.Module):
    def __init__(self, c, pad_id):
        super().__init__()
        self.c = c
        h = c["hidden_size"]
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["embedding_size"], padding_idx=pad_id)
        self.bridge = nn.Linear(h, h)
        self.rnn = _rnn(c, dec_input_size(c), h, c["decoder_layers"], False, c["dropout"])
        self.attention = Attention(c)
        self.combine = nn.Linear(2 * h, h, bias=False)
        self.p = c["dropout"]

    def init_state(self, enc, valid):
        """-> (state, feed) for the RNN: h0 = tanh(bridge(mean of valid encoder rows))."""
        m = (enc * valid[..., None]).sum(1) / valid.sum(1, keepdim=True)
        h0 = torch.tanh(self.bridge(m))
        L = self.c["decoder_layers"]
        h = h0[None].expand(L, -1, -1).contiguous()
        state = (h, torch.zeros_like(h)) if self.c["cell"] == "lstm" else h
        return state, torch.zeros_like(h0)

    def embed(self, y):
        return F.dropout(self.embed_tokens(y), self.p, self.training)

    def _top(self, state):
        return (state[0] if isinstance(state, tuple) else state)[-1]

    def cast_weights(self):
        """The RNN's weights for stepping, cast once per call (autocast would cast them at every
        step, and their gradients would be added step by step): per layer (w_ih, w_hh, b_ih,
        b_hh) with nn.LSTM / nn.GRU's layouts."""
        dt = torch.get_autocast_cpu_dtype() if torch.is_autocast_cpu_enabled() else None
        out = []
        for k in range(self.c["decoder_layers"]):
            w = [getattr(self.rnn, f"{n}_l{k}") for n in ("weight_ih", "weight_hh")]
            if dt is not None:
                w = [x.to(dt) for x in w]
            out.append((w[0], w[1], getattr(self.rnn, f"bias_ih_l{k}"),
                        getattr(self.rnn, f"bias_hh_l{k}")))
        return out

    def rnn_step(self, W, x, state):
        """One step of the stacked cell, exactly nn.LSTM / nn.GRU's arithmetic: x [B, in] ->
        (top h, new state)."""
        lstm = self.c["cell"] == "lstm"
        hs, cs = (state if lstm else (state, None))
        new_h, new_c = [], []
        for k, (wih, whh, bih, bhh) in enumerate(W):
            if k > 0:
                x = F.dropout(x, self.p, self.training)
            gi = F.linear(x, wih).float() + bih
            gh = F.linear(hs[k], whh).float() + bhh
            if lstm:
                i, f, g, o = (gi + gh).chunk(4, -1)
                c = torch.sigmoid(f) * cs[k] + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                new_c.append(c)
            else:
                ir, iz, in_ = gi.chunk(3, -1)
                hr, hz, hn = gh.chunk(3, -1)
                r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
                n = torch.tanh(in_ + r * hn)
                h = (1 - z) * n + z * hs[k]
            new_h.append(h)
            x = h
        h = torch.stack(new_h)
        return x, ((h, torch.stack(new_c)) if lstm else h)

    def step(self, e, state, feed, enc, keys, valid, t, window=-1, top_k=0, W=None):
        """One target position for a batch: e [B, E] (embed(y)) -> (a [B, h], probs [B, S],
        state, feed)."""
        c = self.c
        W = W or self.cast_weights()

        def attend(q):
            s = self.attention.scores(q, keys).float()
            p = attend_probs(s, valid, t, window, top_k)
            return torch.bmm(p[:, None, :].to(enc.dtype), enc).squeeze(1), p

        if is_bahdanau(c):
            ctx, p = attend(self._top(state))
            h, state = self.rnn_step(W, torch.cat([e, ctx.to(e.dtype)], -1), state)
        else:
            inp = torch.cat([e, feed.to(e.dtype)], -1) if c["input_feeding"] else e
            h, state = self.rnn_step(W, inp, state)
            ctx, p = attend(h)
        a = torch.tanh(self.combine(torch.cat([h, ctx.to(h.dtype)], -1)).float())
        return a, p, state, a


class RNNSeq2Seq(nn.Module):
    def __init__(self, c, pad_id):
        super().__init__()
        self.c = full_config(c)
        self.pad_id = pad_id
        self.encoder = Encoder(self.c, pad_id)
        self.decoder = Decoder(self.c, pad_id)
        self.lm_head = nn.Linear(self.c["hidden_size"], self.c["vocab_size"])
        for n, p in self.named_parameters():
            if p.dim() > 1:
                nn.init.uniform_(p, -0.1, 0.1)
            else:
                nn.init.zeros_(p)

    def encode(self, src):
        valid = src != self.pad_id
        enc = self.encoder(src, valid.sum(1))
        return enc, valid, self.decoder.attention.keys(enc)

    def forward(self, src, dec, window=None, top_k=None, return_attention=False):
        """Teacher forcing: src [B, S], dec [B, T] -> logits [B, T, V] (and attention [B, T, S])."""
        window = self.c["local_window"] if window is None else window
        top_k = self.c["attention_top_k"] if top_k is None else top_k
        enc, valid, keys = self.encode(src)
        state, feed = self.decoder.init_state(enc, valid)
        outs, atts = [], []
        emb = self.decoder.embed(dec)  # once: an embedding lookup per step is slow to train
        W = self.decoder.cast_weights()
        for t in range(dec.shape[1]):
            a, p, state, feed = self.decoder.step(emb[:, t], state, feed, enc, keys, valid, t,
                                                  window, top_k, W)
            outs.append(a)
            atts.append(p)
        a = F.dropout(torch.stack(outs, 1), self.decoder.p, self.training)
        logits = self.lm_head(a)
        return (logits, torch.stack(atts, 1)) if return_attention else logits

    def export_state(self):
        return {k: v for k, v in self.state_dict().items()}

    def hf_config(self):
        c = {k: v for k, v in self.c.items() if k != "dropout"}
        c["architectures"] = ["RNNSeq2Seq"]
        return c


def _reorder(state, idx):
    if isinstance(state, tuple):
        return tuple(s[:, idx] for s in state)
    return state[:, idx]


@torch.no_grad()
def greedy(model, src, start_id, eos_id, max_new, banned=()):
    """Greedy decoding of a padded batch; lists of generated ids (eos excluded)."""
    enc, valid, keys = model.encode(src)
    state, feed = model.decoder.init_state(enc, valid)
    b = src.shape[0]
    y = torch.full((b,), start_id, dtype=torch.long)
    done = torch.zeros(b, dtype=torch.bool)
    res = [[] for _ in range(b)]
    c = model.c
    for t in range(max_new):
        a, _, state, feed = model.decoder.step(model.decoder.embed(y), state, feed, enc, keys,
                                               valid, t,
                                               c["local_window"], c["attention_top_k"])
        logits = model.lm_head(a).float()
        for tok in banned:
            logits[:, tok] = -float("inf")
        y = logits.argmax(-1)
        for r in range(b):
            if not done[r]:
                if int(y[r]) == eos_id:
                    done[r] = True
                else:
                    res[r].append(int(y[r]))
        if bool(done.all()):
            break
    return res


@torch.no_grad()
def beam_search(model, src_ids, start_id, eos_id, num_beams, max_length, length_penalty=1.0,
                banned=()):
    """transformers 4.35's beam search (BeamSearchScorer, early_stopping False) for one source:
    returns the best hypothesis' ids (with the start token and the final eos, as generate()
    returns them) and its score."""
    c = model.c
    src = torch.tensor([src_ids])
    enc, valid, keys = model.encode(src)
    state, feed = model.decoder.init_state(enc, valid)
    K = num_beams
    enc, valid, keys = enc.expand(K, -1, -1), valid.expand(K, -1), keys.expand(K, -1, -1)
    state = _reorder(state, torch.zeros(K, dtype=torch.long))
    feed = feed.expand(K, -1)
    seqs = [[start_id] for _ in range(K)]
    beam_scores = torch.full((K,), -1e9)
    beam_scores[0] = 0.0
    hyps = []  # (score, ids)
    worst = 1e9
    cur_len = 1

    def add(ids, score):
        nonlocal worst
        if len(hyps) < K or score > worst:
            hyps.append((score, ids))
            if len(hyps) > K:
                hyps.sort(key=lambda h: h[0])
                hyps.pop(0)
            worst = min(h[0] for h in hyps)

    done = False
    while True:
        y = torch.tensor([s[-1] for s in seqs])
        a, _, state, feed = model.decoder.step(model.decoder.embed(y), state, feed, enc, keys,
                                               valid, cur_len - 1,
                                               c["local_window"], c["attention_top_k"])
        lp = F.log_softmax(model.lm_head(a).float(), dim=-1)
        for tok in banned:
            lp[:, tok] = -float("inf")
        if cur_len == max_length - 1:  # forced_eos_token_id at the last position
            forced = torch.full_like(lp, -float("inf"))
            forced[:, eos_id] = 0
            lp = forced
        V = lp.shape[1]
        top, idx = (lp + beam_scores[:, None]).view(-1).topk(2 * K)
        # process(): the 2K candidates in order; an eos among the first K ends a hypothesis
        # (its score divided by the prefix length, start token included); the others fill
        # the next K beams
        beams = []
        for rank, (s, i) in enumerate(zip(top.tolist(), idx.tolist())):
            b, tok = divmod(i, V)
            if tok == eos_id:
                if rank < K:
                    add(seqs[b] + [tok], s / (cur_len ** length_penalty))
            else:
                beams.append((b, tok, s))
            if len(beams) == K:
                break
        # is_done (early_stopping False) with process()'s cur_len, which counts the token
        # being chosen: the best candidate's score over that length against the worst kept
        if len(hyps) >= K and worst >= top[0].item() / ((cur_len + 1) ** length_penalty):
            done = True
        sel = torch.tensor([b for b, _, _ in beams])
        seqs = [seqs[b] + [tok] for b, tok, _ in beams]
        beam_scores = torch.tensor([s for _, _, s in beams])
        state = _reorder(state, sel)
        feed = feed[sel]
        cur_len += 1
        if done or cur_len >= max_length:
            break
    if not done:  # finalize: the running beams become hypotheses
        for s, ids in zip(beam_scores.tolist(), seqs):
            add(ids, s / (len(ids) ** length_penalty))
    best = max(hyps, key=lambda h: h[0])
    return best[1], best[0]


def param_count(model):
    return sum(p.numel() for p in model.parameters())


if __name__ == "__main__":
    torch.manual_seed(0)
    m = RNNSeq2Seq({"vocab_size": 50, "embedding_size": 8, "hidden_size": 12}, pad_id=49)
    src = torch.tensor([[3, 4, 5, 0], [6, 7, 0, 49]])
    dec = torch.tensor([[49, 3, 4], [49, 5, 6]])
    print(m(src, dec).shape, math.isfinite(float(m(src, dec).sum())))
