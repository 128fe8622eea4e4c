"""Frames that reuse the last sketch (core/live.py) and the live decode job that uses them."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from sketchstudio.app.logic import decode_job
from sketchstudio.app.logic.decode_job import DecodeJob, DecodeRequest, MemoryCache, SketchSpec
from sketchstudio.app.logic.photo import Photo
from sketchstudio.core.live import FramePlan, LiveParams, LiveStream, block_means, changed_cells, grow_cells
from sketchstudio.core.sampler_settings import CancelToken, SamplerSettings

SIDE = 64  # the frames' pixels: the tiny model's 8 x 8 cells are 8 px of them


def picture(seed=0) -> np.ndarray:
    """(SIDE, SIDE, 3) uint8: smooth shapes, so a change of a few pixels is a change of a cell."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE] / SIDE
    out = np.zeros((SIDE, SIDE, 3))
    for c in range(3):
        f = rng.uniform(1, 4, size=2)
        out[..., c] = 0.5 + 0.4 * np.sin(2 * np.pi * (f[0] * xx + rng.uniform())) * np.cos(2 * np.pi * f[1] * yy)
    return (out * 255).round().astype(np.uint8)


def noisy(a: np.ndarray, seed: int, sigma: float = 3.0) -> np.ndarray:
    """Camera-like sensor noise: Gaussian, sigma grey levels, on every pixel and channel."""
    n = np.random.default_rng(seed).normal(0, sigma, a.shape)
    return np.clip(a + n, 0, 255).round().astype(np.uint8)


def frame(a: np.ndarray) -> Photo:
    return Photo.from_image(Image.fromarray(a), detect=False).with_crop(None)  # the whole square frame


def spec(model, steps=4):
    k = len(model.styles)
    return SketchSpec(tuple(1.0 / k for _ in range(k)), SamplerSettings(steps=steps, seed=3))


def run(model, photo, stream, cache=None, sp=None, detect=False, **kwargs):
    req = DecodeRequest(photo, sp or spec(model), detect=detect, live=True, stream=stream, **kwargs)
    gen = DecodeJob(model, req, cache or MemoryCache()).run(CancelToken())
    events = []
    try:
        while True:
            events.append(next(gen))
    except StopIteration as stop:
        return stop.value, events


def stream_for(model, **params):
    return LiveStream(model.cfg.grid, LiveParams(**params))


def test_still_frame_with_sensor_noise_keeps_tokens_and_sketch(tiny_model):
    stream, cache, base = stream_for(tiny_model), MemoryCache(), picture()
    first, _ = run(tiny_model, frame(noisy(base, 1)), stream, cache)
    assert first.live_path == "scratch" and first.redrawn == tiny_model.cfg.num_tokens
    misses = cache.misses
    for seed in (2, 3, 4):
        again, events = run(tiny_model, frame(noisy(base, seed)), stream, cache)
        assert again.live_path == "still" and again.redrawn == 0
        assert torch.equal(again.tokens, first.tokens)
        assert np.array_equal(again.sketch, first.sketch)
        assert not events[-1].newly_fixed.any()
    assert cache.misses == misses  # the encoder did not run for the still frames
    assert stream.counts == {"still": 3, "partial": 0, "scratch": 1}


def test_a_cut_decodes_from_scratch(tiny_model):
    stream = stream_for(tiny_model)
    run(tiny_model, frame(picture(0)), stream)
    cut, events = run(tiny_model, frame(picture(5)), stream)
    assert cut.live_path == "scratch" and cut.redrawn == tiny_model.cfg.num_tokens
    assert events[-1].newly_fixed.all()


def test_other_settings_or_style_decode_from_scratch(tiny_model):
    stream, a = stream_for(tiny_model), picture()
    run(tiny_model, frame(a), stream)
    other = SketchSpec(spec(tiny_model).style, SamplerSettings(steps=4, seed=4))
    assert run(tiny_model, frame(a), stream, sp=other)[0].live_path == "scratch"
    one = tuple(1.0 if i == 0 else 0.0 for i in range(len(tiny_model.styles)))
    assert run(tiny_model, frame(a), stream, sp=SketchSpec(one, other.settings))[0].live_path == "scratch"


def test_a_small_local_change_redraws_only_that_region(tiny_model):
    g = tiny_model.cfg.grid
    stream = stream_for(tiny_model, refresh_share=0.0)
    a = picture()
    first, _ = run(tiny_model, frame(a), stream)
    b = a.copy()
    b[40:48, 8:16] = 255 - b[40:48, 8:16]  # one cell's pixels: row 5, column 1
    result, events = run(tiny_model, frame(b), stream)
    assert result.live_path == "partial"
    changed = np.zeros((g, g), bool)
    changed[5, 1] = True
    expected = grow_cells(torch.from_numpy(changed).view(1, -1), g, 1)[0].view(g, g).numpy()
    assert np.array_equal(events[-1].newly_fixed, expected)  # the changed cell and its neighbours
    assert result.redrawn == expected.sum() < g * g // 4
    kept = ~torch.from_numpy(expected).view(1, -1)
    assert torch.equal(result.tokens[kept], first.tokens[kept])  # the rest of the sketch is the last one's
    assert (result.tokens != tiny_model.cfg.mask_id).all()


def test_a_partial_frame_also_redraws_the_least_confident(tiny_model):
    n = tiny_model.cfg.num_tokens
    stream = stream_for(tiny_model, refresh_share=0.1)
    a = picture()
    run(tiny_model, frame(a), stream)
    b = a.copy()
    b[0:8, 0:8] = 255 - b[0:8, 0:8]
    plan = stream.plan(frame(b).tensor(tiny_model.photo_size), stream.key)
    grown = grow_cells(plan.changed, tiny_model.cfg.grid, 1)
    extra = plan.redraw & ~grown
    near = grow_cells(grown, tiny_model.cfg.grid, stream.params.refresh_near) & ~grown  # refreshed near the change
    k = min(round(0.1 * n), int(near.sum()))
    assert plan.path == "partial" and k > 0 and int(extra.sum()) == k
    assert not (extra & ~near).any()
    assert stream.confidence[extra].max() <= stream.confidence[near].sort().values[k - 1]
    anywhere = stream_for(tiny_model, refresh_share=0.1, refresh_near=None)  # the refresh from the whole grid
    run(tiny_model, frame(a), anywhere)
    plan = anywhere.plan(frame(b).tensor(tiny_model.photo_size), anywhere.key)
    extra = plan.redraw & ~grown
    assert int(extra.sum()) == round(0.1 * n)
    assert anywhere.confidence[extra].max() <= anywhere.confidence[~grown].sort().values[round(0.1 * n) - 1]


def test_exposure_drift_is_not_a_change_but_slow_motion_adds_up():
    grid = 8
    photo = 0.1 + 0.7 * torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))  # room to brighten
    ref = block_means(photo, grid)
    assert not changed_cells(block_means(photo + 0.08, grid), ref, 0.02).any()
    stream = LiveStream(grid)
    key = "k"
    plan = stream.plan(photo, key)
    stream.commit(plan, photo, key, torch.zeros(1, 64, dtype=torch.long), torch.ones(1, 64))
    # A patch brightening by less than the noise level a frame: each frame's step is below it,
    # but the cells are compared with the photo they were drawn for, so the change adds up
    # to a redraw (compared frame to frame it never would: a ghost of the old face).
    paths = []
    for k in range(1, 6):
        moved = photo.clone()
        moved[..., 8:16, 8:16] += 0.008 * k
        plan = stream.plan(moved, key)
        paths.append(plan.path)
        stream.commit(plan, moved, key, torch.zeros(1, 64, dtype=torch.long), torch.ones(1, 64))
    assert paths[:2] == ["still", "still"] and "partial" in paths and "scratch" not in paths


def test_a_still_view_keeps_the_face_found_in_it(tiny_model, monkeypatch):
    calls = []
    real = Photo.detected

    def counted(self, keep_crop=False):
        calls.append(1)
        return real(self, keep_crop)

    monkeypatch.setattr(Photo, "detected", counted)
    stream, base = stream_for(tiny_model), picture()
    run(tiny_model, frame(noisy(base, 1)), stream, detect=True)
    result, _ = run(tiny_model, frame(noisy(base, 2)), stream, detect=True)
    assert len(calls) == 1 and result.live_path == "still"  # found once, kept while the view is still
    run(tiny_model, frame(picture(7)), stream, detect=True)
    assert len(calls) == 2


@pytest.mark.parametrize("size", [(24, 24), (48, 40)])
def test_live_sketches_are_drawn_at_the_size_asked(tiny_model, size):
    stream = stream_for(tiny_model)
    result, _ = run(tiny_model, frame(picture()), stream, draw_size=size)
    assert result.sketch.shape == size
    again, _ = run(tiny_model, frame(picture()), stream, draw_size=(32, 32))  # a resized panel: drawn again
    assert again.live_path == "still" and again.sketch.shape == (32, 32)


def test_view_blocks_are_block_means():
    im = Image.new("RGB", (640, 480), (255, 255, 255))
    b = decode_job.view_blocks(im)
    assert b.shape == (1, 2 * decode_job.VIEW_GRID, 2 * decode_job.VIEW_GRID) and torch.allclose(b, torch.ones_like(b))


def test_a_pixel_of_shift_is_not_a_change_but_more_is():
    """The crop follows a moving face to the nearest pixel (face_tracking), so a block that
    matches once shifted by a pixel of the 256 px input is unchanged; four pixels are not."""
    g = torch.Generator().manual_seed(0)
    photo = F.interpolate(torch.rand(1, 3, 64, 64, generator=g), size=(264, 264), mode="bicubic").clamp(0, 1)
    base = photo[..., 4:260, 4:260]
    stream, key = LiveStream(16), "k"
    plan = stream.plan(base, key)
    stream.commit(plan, base, key, torch.zeros(1, 256, dtype=torch.long), torch.ones(1, 256))
    assert stream.plan(photo[..., 5:261, 3:259], key).path == "still"
    assert stream.plan(photo[..., 0:256, 4:260], key).path != "still"
    strict = LiveStream(16, LiveParams(shift_tolerance=0))
    strict.commit(strict.plan(base, key), base, key, torch.zeros(1, 256, dtype=torch.long), torch.ones(1, 256))
    assert strict.plan(photo[..., 5:261, 3:259], key).path != "still"  # without the tolerance it would redraw


def left_half_person(grid_px: int = 32, cols: int = 16) -> torch.Tensor:
    """A person probability map (1, s, s): 1 on the left `cols` pixel columns, 0 elsewhere."""
    m = torch.zeros(1, grid_px, grid_px)
    m[..., :cols] = 1.0
    return m


def committed(stream, photo, key, person=None):
    plan = stream.plan(photo, key, person=person)
    n = stream.grid ** 2
    stream.commit(plan, photo, key, torch.zeros(1, n, dtype=torch.long), torch.ones(1, n))
    return plan


def test_changes_behind_the_person_are_not_redrawn():
    """The drawings' paper is white whatever stood behind the sitter: a room moving behind a
    face that stays put is a still frame; a change on the person is redrawn."""
    grid, key = 8, "k"
    photo = 0.1 + 0.7 * torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    asked = []

    def person():
        asked.append(1)
        return left_half_person()

    stream = LiveStream(grid)
    first = committed(stream, photo, key, person)
    assert first.path == "scratch" and int(first.person.sum()) == grid * grid // 2
    behind = photo.clone()
    behind[..., 4:28, 20:32] = 1 - behind[..., 4:28, 20:32]  # the right half: the room
    plan = stream.plan(behind, key, person=person)
    assert plan.path == "still" and plan.background > 0 and not plan.changed.any()
    on_face = photo.clone()
    on_face[..., 8:16, 0:8] = 1 - on_face[..., 8:16, 0:8]
    plan = stream.plan(on_face, key, person=person)
    assert plan.path == "partial" and plan.changed.view(grid, grid)[2:4, 0:2].all()
    n_asked = len(asked)
    stream.plan(photo + 0.0, key, person=person)  # nothing changed: no segmentation is run
    assert len(asked) == n_asked
    everywhere = LiveStream(grid, LiveParams(person_level=None))
    committed(everywhere, photo, key, person)
    assert everywhere.plan(behind, key, person=person).path != "still"  # the filter off: redrawn


def test_an_arm_raised_into_the_background_is_drawn():
    """Where the person is now counts as well as where it was: what comes into the crop is drawn."""
    grid, key = 8, "k"
    photo = 0.1 + 0.7 * torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    stream = LiveStream(grid)
    committed(stream, photo, key, lambda: left_half_person())
    arm = photo.clone()
    arm[..., 0:8, 20:28] = 0.05  # something dark comes in at the top right
    wider = left_half_person()
    wider[..., 0:8, 20:28] = 1.0  # ... and the segmentation says it is the person's
    plan = stream.plan(arm, key, person=lambda: wider)
    assert plan.path == "partial" and plan.changed.view(grid, grid)[0:2, 5:7].all()
    stream.commit(plan, arm, key, torch.zeros(1, 64, dtype=torch.long), torch.ones(1, 64))
    gone = photo.clone()  # the arm goes down again: it was the person's when drawn, so it is redrawn
    assert stream.plan(gone, key, person=lambda: left_half_person()).path == "partial"


def test_a_moving_frame_is_a_draft_drawn_in_full_once_still(tiny_model):
    """A partial frame drawn smaller and enlarged; the next still frame draws the same tokens
    at the size shown (no encoder, no transformer), which a draft is not."""
    size = (64, 64)
    stream = stream_for(tiny_model, refresh_share=0.0, draft_side=24)
    a = picture()
    first, _ = run(tiny_model, frame(a), stream, draw_size=size)
    assert first.live_path == "scratch" and not first.draft  # a new face is never a draft
    b = a.copy()
    b[40:48, 8:16] = 255 - b[40:48, 8:16]
    moving, _ = run(tiny_model, frame(b), stream, draw_size=size)
    assert moving.live_path == "partial" and moving.draft and moving.sketch.shape == size
    cache = MemoryCache()
    calls = []
    real = tiny_model.transformer.forward
    tiny_model.transformer.forward = lambda *a, **k: calls.append(1) or real(*a, **k)
    try:
        settled, _ = run(tiny_model, frame(b), stream, cache, draw_size=size)
    finally:
        del tiny_model.transformer.forward
    assert settled.live_path == "still" and not settled.draft and not calls and cache.misses == 0
    assert torch.equal(settled.tokens, moving.tokens)
    with torch.inference_mode():
        style = torch.tensor(spec(tiny_model).style)[None]
        full = tiny_model.decode(moving.tokens, size, style=style, photo=frame(b).tensor(tiny_model.photo_size))
    assert np.array_equal(settled.sketch, np.asarray(decode_job.tensor_to_image(full[0])))
    assert not np.array_equal(settled.sketch, moving.sketch)
    again, _ = run(tiny_model, frame(b), stream, draw_size=size)
    assert again.live_path == "still" and np.array_equal(again.sketch, settled.sketch)  # kept, not drawn again


def test_a_partial_frame_draws_only_its_window_and_keeps_the_rest(tiny_model):
    """The changed cells (photo or token) grown by `window_grow` are drawn again as one box; the
    pixels outside it are the last sketch's, bit for bit, and inside it (past the blended edge)
    the whole render's."""
    g, size = tiny_model.cfg.grid, (64, 64)
    stream = stream_for(tiny_model, refresh_share=0.0, window_grow=1)
    a = picture()
    first, _ = run(tiny_model, frame(a), stream, draw_size=size)
    b = a.copy()
    b[40:48, 8:16] = 255 - b[40:48, 8:16]  # row 5, column 1
    result, _ = run(tiny_model, frame(b), stream, draw_size=size)
    assert result.live_path == "partial"
    cells = (result.tokens != first.tokens)[0].view(g, g).clone()
    cells[5, 1] = True
    cells = grow_cells(cells.view(1, -1), g, 1)[0].view(g, g)
    rows, cols = cells.nonzero(as_tuple=True)
    cell = size[0] // g
    top, bottom = int(rows.min()) * cell, (int(rows.max()) + 1) * cell
    left, right = int(cols.min()) * cell, (int(cols.max()) + 1) * cell
    assert (bottom - top) * (right - left) < size[0] * size[1] / 2  # a window, not the whole sketch
    inside = np.zeros(size, bool)
    inside[top:bottom, left:right] = True
    assert np.array_equal(result.sketch[~inside], first.sketch[~inside])
    with torch.inference_mode():
        style = torch.tensor(spec(tiny_model).style)[None]
        full = tiny_model.decode(result.tokens, size, style=style, photo=frame(b).tensor(tiny_model.photo_size))
    whole = np.asarray(decode_job.tensor_to_image(full[0])).astype(int)
    ramp = 2  # a quarter of an 8 px cell, where the window meets the kept sketch
    core = np.zeros(size, bool)
    core[top + (ramp if top else 0):bottom - (ramp if bottom < size[0] else 0),
         left + (ramp if left else 0):right - (ramp if right < size[1] else 0)] = True
    assert np.abs(result.sketch[core].astype(int) - whole[core]).max() <= 1
    assert not np.array_equal(result.sketch[inside], first.sketch[inside])  # the change is drawn


@pytest.mark.parametrize("params", [{"window_share": None}, {"window_share": 0.01}])
def test_a_partial_frame_draws_the_whole_sketch_without_windows_or_past_their_share(tiny_model, params):
    size = (64, 64)
    stream = stream_for(tiny_model, refresh_share=0.0, window_grow=1, **params)
    a = picture()
    run(tiny_model, frame(a), stream, draw_size=size)
    b = a.copy()
    b[40:48, 8:16] = 255 - b[40:48, 8:16]
    result, _ = run(tiny_model, frame(b), stream, draw_size=size)
    assert result.live_path == "partial"
    with torch.inference_mode():
        style = torch.tensor(spec(tiny_model).style)[None]
        full = tiny_model.decode(result.tokens, size, style=style, photo=frame(b).tensor(tiny_model.photo_size))
    assert np.array_equal(result.sketch, np.asarray(decode_job.tensor_to_image(full[0])))


def test_a_window_is_pasted_with_its_inner_edges_blended_and_none_without_a_kept_sketch():
    stream = LiveStream(8, LiveParams(feather=0.5))  # 8 x 8 cells of a 64 px sketch: a 4 px ramp
    size = (64, 64)
    plan = FramePlan("partial", torch.zeros(1, 64, dtype=torch.bool), None, None)
    assert stream.window_box(stream.window_cells(plan, torch.zeros(1, 64, dtype=torch.long)), size) is None  # none kept
    stream.tokens = torch.zeros(1, 64, dtype=torch.long)
    stream.sketch, stream.sketch_size = np.zeros(size, np.uint8), size
    tokens = stream.tokens.clone()
    tokens[0, 0] = 1  # the top-left cell's token changed
    window = stream.window_box(stream.window_cells(plan, tokens), size)
    assert window == (0, 0, 24, 24)  # that cell grown by two (window_grow), clipped at the sketch's edges
    assert stream.window_box(stream.window_cells(FramePlan("still", plan.changed, None, None), tokens), size) is None
    out = stream.paste_window(np.full((24, 24), 200, np.uint8), window, size)
    assert out[0, 0] == 200 and out[10, 10] == 200  # the sketch's own edges: no blending
    assert 0 < out[10, 23] < out[10, 21] < 200  # the inner edge ramps into the kept sketch
    assert out[30, 30] == 0 and out[10, 24] == 0  # outside: the kept sketch
    assert stream.sketch.max() == 0  # the kept sketch itself is not changed in place
