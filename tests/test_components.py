"""Shapes and value ranges of the encoder, tokenizer and transformer; tokenizer consistency."""
import torch
import torch.nn.functional as F

from sketchstudio.core.sampler import style_weights_tensor


def test_encoder_patch_tokens(tiny_model):
    cfg = tiny_model.cfg.encoder
    photo = torch.rand(2, 3, cfg.image_size, cfg.image_size)
    with torch.no_grad():
        tokens = tiny_model.encoder(photo)
    assert tokens.shape == (2, cfg.grid**2, cfg.width)
    assert torch.isfinite(tokens).all()


def test_tokenizer_encode_decode_shapes(tiny_model):
    tok, cfg = tiny_model.tokenizer, tiny_model.cfg.tokenizer
    sketch = torch.rand(3, 1, cfg.image_size, cfg.image_size)
    ids = tok.encode(sketch)
    assert ids.shape == (3, cfg.grid**2) and ids.dtype == torch.long
    assert ids.min() >= 0 and ids.max() < cfg.codebook_size
    with torch.no_grad():
        img = tok.decode(ids)
    assert img.shape == (3, 1, cfg.image_size, cfg.image_size)
    assert img.min() >= 0 and img.max() <= 1


def test_tokenizer_is_deterministic(tiny_model):
    tok, cfg = tiny_model.tokenizer, tiny_model.cfg.tokenizer
    ids = torch.randint(0, cfg.codebook_size, (2, cfg.grid**2), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = tok.decode(ids), tok.decode(ids)
    assert torch.equal(a, b)
    assert torch.equal(tok.encode(a), tok.encode(b))


def test_embed_ids_is_a_codebook_lookup(tiny_model):
    tok, cfg = tiny_model.tokenizer, tiny_model.cfg.tokenizer
    g = cfg.grid
    ids = torch.randint(0, cfg.codebook_size, (2, g * g), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        z = tok.embed_ids(ids)  # (B, d, g, g)
        book = tok.codebook()  # (K, d)
    assert z.shape == (2, cfg.code_dim, g, g)
    # Raster order: id at row-major position i sits at (i // g, i % g).
    assert torch.equal(z.permute(0, 2, 3, 1).reshape(2, g * g, -1), book[ids])
    assert torch.allclose(book.norm(dim=1), torch.ones(cfg.codebook_size))


def test_training_ids_match_encode(tiny_model):
    """taming's quantiser (L2 on unit vectors) and `encode` (cosine) pick the same codes."""
    tok, cfg = tiny_model.tokenizer, tiny_model.cfg.tokenizer
    sketch = torch.rand(2, 1, cfg.image_size, cfg.image_size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        recon, vq_loss, ids = tok(sketch)
    assert recon.shape == sketch.shape and vq_loss.dim() == 0
    assert torch.equal(ids.reshape(2, -1), tok.encode(sketch))


def test_round_trip_after_brief_encoder_training(tiny_model):
    """Train the encoder to read back decoded codes; then encode(decode(ids)) == ids.

    Catches any disagreement in grid order or codebook use between the two directions.
    """
    tok, cfg = tiny_model.tokenizer, tiny_model.cfg.tokenizer
    torch.manual_seed(0)
    ids = torch.randint(0, cfg.codebook_size, (8, cfg.grid**2))
    with torch.no_grad():
        target = tok.decode(ids)  # (8, 1, H, W)
        book = tok.codebook()  # (K, d), frozen
    params = [*tok.encoder.parameters(), *tok.quant_conv.parameters()]
    opt = torch.optim.Adam(params, lr=3e-3)
    for step in range(150):
        z = tok.encode_latent(target)  # (B, d, g, g)
        logits = torch.einsum("bdhw,kd->bhwk", z, book) * 10  # (B, g, g, K)
        loss = F.cross_entropy(logits.reshape(-1, cfg.codebook_size), ids.view(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 10 == 9 and torch.equal(tok.encode(target), ids):
            break
    assert torch.equal(tok.encode(target), ids)


def test_transformer_logits(tiny_model, tiny_photo):
    cfg = tiny_model.cfg
    photo = tiny_photo.repeat(2, 1, 1, 1)
    tokens = torch.full((2, cfg.num_tokens), cfg.mask_id)
    tokens[1, ::2] = 3
    w = style_weights_tensor([0.0, 1.0, 0.0], 2, len(cfg.styles))
    with torch.no_grad():
        memory = tiny_model.condition(photo)
        logits = tiny_model.logits(tokens, memory, w)
        logits2, smooth = tiny_model.logits(tokens, memory, w, return_smooth=True)
    assert logits.shape == (2, cfg.num_tokens, cfg.tokenizer.codebook_size)
    assert smooth.shape == logits.shape and torch.equal(logits, logits2)
    assert torch.isfinite(logits).all()
    assert not torch.equal(logits[0], logits[1])  # the tokens reach the output


def test_style_weights_tensor_shapes():
    assert style_weights_tensor([1.0, 0.0, 0.0], 2, 3).shape == (2, 3)
    try:
        style_weights_tensor([1.0, 0.0], 2, 3)
    except ValueError as exc:
        assert "(2, 3)" in str(exc)
    else:
        raise AssertionError("wrong style width accepted")
