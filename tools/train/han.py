"""han.py — the reference implementation of attnserve's `han` architecture: a Hierarchical
Attention Network (Yang et al. 2016) with a SummaRuNNer-style sentence-salience head (Nallapati
et al. 2017), in plain PyTorch. It is the model train_han.py trains and the parity oracle of the
C engine's implementation (issue 14). state_dict() names are PyTorch's own.

config.json fields:
  model_type "han"; vocab_size; embedding_size; word_hidden (per direction of the word GRU);
  sentence_hidden (per direction of the sentence GRU); max_positions (sentence positions with
  their own salience bias; later sentences share the last); pad_token_id.

The arithmetic, for a document of sentences x_1..x_n (token ids, no padding):
  word level:      h_it = biGRU(E[x_i])_t                                  (2 word_hidden)
                   u_it = tanh(word_proj(h_it)); a_it = softmax_t(u_it . u_w); s_i = sum_t a_it h_it
  sentence level:  g_i = biGRU(s)_i                                        (2 sentence_hidden)
                   v_i = tanh(sent_proj(g_i)); b_i = softmax_i(v_i . u_s); d = sum_i b_i g_i
  salience:        logit_i = content(g_i) + g_i . salience(d) + position[min(i, P - 1)] + bias
                   p_i = sigmoid(logit_i): the probability that sentence i belongs in a summary
Attention maps: a_it (per sentence, over its tokens) and b_i (over the sentences).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULTS = {"embedding_size": 128, "word_hidden": 64, "sentence_hidden": 64, "max_positions": 50,
            "dropout": 0.2}


class HAN(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = dict(DEFAULTS, **c)
        c = self.c
        wh, sh = c["word_hidden"], c["sentence_hidden"]
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["embedding_size"],
                                         padding_idx=c["pad_token_id"])
        self.word_rnn = nn.GRU(c["embedding_size"], wh, batch_first=True, bidirectional=True)
        self.word_proj = nn.Linear(2 * wh, 2 * wh)
        self.word_context = nn.Parameter(torch.empty(2 * wh))
        self.sent_rnn = nn.GRU(2 * wh, sh, batch_first=True, bidirectional=True)
        self.sent_proj = nn.Linear(2 * sh, 2 * sh)
        self.sent_context = nn.Parameter(torch.empty(2 * sh))
        self.content = nn.Linear(2 * sh, 1, bias=False)
        self.salience = nn.Linear(2 * sh, 2 * sh, bias=False)
        self.position = nn.Embedding(c["max_positions"], 1)
        self.bias = nn.Parameter(torch.zeros(1))
        for n, p in self.named_parameters():
            if p.dim() > 1:
                nn.init.uniform_(p, -0.1, 0.1)
            elif n.endswith("context"):
                nn.init.uniform_(p, -0.1, 0.1)
            else:
                nn.init.zeros_(p)

    @staticmethod
    def _attend(h, proj, ctx, mask):
        """h [N, T, D], mask [N, T] bool -> (pooled [N, D], weights [N, T])."""
        s = (torch.tanh(proj(h)) @ ctx).float().masked_fill(~mask, float("-inf"))
        a = torch.softmax(s, -1)
        return (a.to(h.dtype)[..., None] * h).sum(1), a

    def forward(self, ids, n_tok, n_sent):
        """ids [B, S, T] (padded), n_tok [B, S] (0 for padding sentences), n_sent [B] ->
        (logits [B, S], word attention [B, S, T], sentence attention [B, S])."""
        B, S, T = ids.shape
        p = self.c["dropout"] if self.training else 0.0
        flat = ids.view(B * S, T)
        lens = n_tok.view(-1)
        real = lens > 0
        x = F.dropout(self.embed_tokens(flat[real]), p, self.training)
        packed = nn.utils.rnn.pack_padded_sequence(x, lens[real].cpu(), batch_first=True,
                                                   enforce_sorted=False)
        h, _ = self.word_rnn(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=T)
        wmask = torch.arange(T)[None, :] < lens[real][:, None]
        s_real, a_real = self._attend(h, self.word_proj, self.word_context, wmask)
        sv = torch.zeros(B * S, s_real.shape[-1], dtype=s_real.dtype)
        sv[real] = s_real
        wa = torch.zeros(B * S, T)
        wa[real] = a_real.float()
        sv = F.dropout(sv.view(B, S, -1), p, self.training)
        packed = nn.utils.rnn.pack_padded_sequence(sv, n_sent.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        g, _ = self.sent_rnn(packed)
        g, _ = nn.utils.rnn.pad_packed_sequence(g, batch_first=True, total_length=S)
        smask = torch.arange(S)[None, :] < n_sent[:, None]
        d, sa = self._attend(g, self.sent_proj, self.sent_context, smask)
        pos = torch.arange(S).clamp(max=self.c["max_positions"] - 1)
        logits = (self.content(g).squeeze(-1) + (g * self.salience(d)[:, None, :]).sum(-1)
                  + self.position(pos).squeeze(-1)[None, :] + self.bias).float()
        return logits.masked_fill(~smask, float("-inf")), wa.view(B, S, T), sa.float()

    def hf_config(self):
        c = {k: v for k, v in self.c.items() if k != "dropout"}
        c.update(model_type="han", architectures=["HAN"])
        return c
