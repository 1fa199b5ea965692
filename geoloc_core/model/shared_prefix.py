"""CLIP's text tower over many prompts that start alike, with the common start computed once (issue #29).

Why: every location prompt begins "<start> a street view photo in" (6 of its 9-15 tokens) and CLIP's text
transformer is causal: a token sees only the tokens before it, so those first positions come out the same
in every prompt, layer by layer. Computing them once per group and letting each prompt's own tokens attend
to their keys and values (a key/value cache, as a language model's generation does) leaves the rest of
each prompt to compute: about half the work of a city prompt, two thirds of a country prompt, on the CPU
where the first answer waits for a few hundred of them.

The layer is the same arithmetic as ``transformers``' ``CLIPEncoderLayer`` (pre-norm attention with the
module's own projections and scale, then the MLP), written out because that layer takes no cache. A test
holds it to the library's forward (``tests/test_zeroshot.py``). Used on the CPU only; a GPU runs the
library's forward (it is not the bottleneck there).
"""
from __future__ import annotations

import torch


def common_prefix_length(sequences: list[list[int]]) -> int:
    """How many leading token ids all sequences share, leaving each at least one token of its own."""
    if not sequences:
        return 0
    shortest = min(len(s) for s in sequences)
    first = sequences[0]
    length = 0
    while length < shortest - 1 and all(s[length] == first[length] for s in sequences):
        length += 1
    return length


def _pool_positions(text_model, ids: list[list[int]]) -> list[int]:
    """Where the library's forward pools each sequence (its end-of-text token, by the library's own rule)."""
    eos = getattr(text_model, "eos_token_id", text_model.config.eos_token_id)  # the attribute the library reads
    if eos == 2:  # the legacy rule of checkpoints older than transformers PR #24773: the highest id
        return [max(range(len(s)), key=lambda k: (s[k], -k)) for s in ids]
    return [s.index(eos) if eos in s else len(s) - 1 for s in ids]


def usable_prefix(text_model, ids: list[list[int]], prefix: int) -> int:
    """``prefix`` shortened so that every sequence is pooled after it (under the legacy rule a word of the
    shared start can hold the highest id); 0 when no start can be shared."""
    return max(0, min([prefix, *_pool_positions(text_model, ids)]))


def _attend(attention, hidden: torch.Tensor, keys: torch.Tensor | None, values: torch.Tensor | None,
            mask: torch.Tensor):
    """Multi-head attention of ``hidden``'s tokens over (cached keys/values +) their own; returns the output
    and this step's keys and values (batch, heads, tokens, head_dim)."""
    batch, tokens, _ = hidden.shape
    shape = (batch, tokens, -1, attention.head_dim)
    q = attention.q_proj(hidden).view(shape).transpose(1, 2)
    k = attention.k_proj(hidden).view(shape).transpose(1, 2)
    v = attention.v_proj(hidden).view(shape).transpose(1, 2)
    all_k = k if keys is None else torch.cat([keys.expand(batch, -1, -1, -1), k], dim=2)
    all_v = v if values is None else torch.cat([values.expand(batch, -1, -1, -1), v], dim=2)
    out = torch.nn.functional.scaled_dot_product_attention(q, all_k, all_v, attn_mask=mask, scale=attention.scale)
    return attention.out_proj(out.transpose(1, 2).reshape(batch, tokens, -1)), k, v


def _layer(layer, hidden: torch.Tensor, keys, values, mask):
    attended, k, v = _attend(layer.self_attn, layer.layer_norm1(hidden), keys, values, mask)
    hidden = hidden + attended
    return hidden + layer.mlp(layer.layer_norm2(hidden)), k, v


@torch.inference_mode()
def pooled_text(text_model, ids: list[list[int]], prefix: int) -> torch.Tensor:
    """The text tower's pooled output (before the projection) for token id sequences whose first ``prefix``
    ids are the same, as ``text_model(input_ids, attention_mask).pooler_output`` gives it."""
    device = text_model.embeddings.token_embedding.weight.device
    positions = _pool_positions(text_model, ids)
    if prefix < 1 or min(positions) < prefix:
        raise ValueError("the shared start must end before every sequence's pooled token")
    embeddings = text_model.embeddings
    start = torch.tensor([ids[0][:prefix]], device=device)
    head = embeddings.token_embedding(start) + embeddings.position_embedding(torch.arange(prefix, device=device))
    width = max(len(s) for s in ids) - prefix
    own = torch.zeros((len(ids), width), dtype=torch.long, device=device)
    for row, sequence in enumerate(ids):
        own[row, :len(sequence) - prefix] = torch.tensor(sequence[prefix:], device=device)
    tail = embeddings.token_embedding(own) + embeddings.position_embedding(
        torch.arange(prefix, prefix + width, device=device))
    causal_head = torch.ones((prefix, prefix), dtype=torch.bool, device=device).tril()
    # each own token sees the whole shared start and its own earlier tokens (padding is after every real
    # token, so a real token never sees it; what padded positions compute is never pooled)
    causal_tail = torch.cat([torch.ones((width, prefix), dtype=torch.bool, device=device),
                             torch.ones((width, width), dtype=torch.bool, device=device).tril()], dim=1)
    for layer in text_model.encoder.layers:
        head, keys, values = _layer(layer, head, None, None, causal_head)
        tail, _, _ = _layer(layer, tail, keys, values, causal_tail)
    tail = text_model.final_layer_norm(tail)
    rows = torch.arange(len(ids), device=device)
    return tail[rows, torch.tensor(positions, device=device) - prefix]
