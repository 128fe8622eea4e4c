"""Frames of a stream that reuse the last sketch: MaskGIT's editing move applied to time.

A webcam (or a video) sends nearly the same face many times a second. Decoding each frame
from a fully masked grid draws a new sketch every time: the same face, other strokes, so a
still face flickers, and every frame pays the whole decode. `LiveStream` keeps, for one
stream, the tokens of the last sketch, the confidence each token was fixed with and, per
token cell, the photo as it was when that cell was last drawn, and plans each new frame:

* **still**: no cell of the photo changed beyond sensor noise; the tokens and the finished
  sketch are reused as they are (no encoder, no transformer, no renderer);
* **partial**: some cells changed; those (grown by a cell, strokes cross cell borders) and the
  least confident of the rest are re-masked and decoded from the kept tokens in
  `LiveParams.steps` `iter_steps` steps (`init_tokens` + `redraw_mask`: known tokens are never
  re-masked); one by default, a single pass measured as steady as two;
* **scratch**: the first frame, a cut, a new face or a large move (most cells changed), or
  other sampler settings: a full decode, as a new photo gets.

Only the **person** counts, where the caller can say where the person is (the face-structure
map's person mask, `plan(..., person=)`): the drawings' paper is white whatever stood behind the
sitter, so cells that changed outside the person (grown by `person_grow` cells), now and when
they were last drawn, are not redrawn. A room moving through the crop behind a face that stays
put is then a still frame; an arm raised into the crop is in the new mask and is drawn.

A partial frame draws only the **window** of the sketch it changed (`LiveStream.window_cells`, `window_box`):
the cells whose photo changed or whose token came out different, grown by `window_grow` cells,
as one box; the renderer draws that box alone (it is convolutional: the same pixels as a whole
render there, `SketchModel.decode(window=)`), and the box is pasted into the kept sketch with
its inner edge blended over a quarter of a cell. Two cells away from every changed token the
whole render moves by about a grey level (the renderer sees the new photo's sensor noise), so
the kept pixels there are the steadier ones, and the renderer's cost follows the change: a
talking mouth redraws the mouth. A box that, with the margin the renderer must see around it,
covers more than `window_share` of the sketch (it would cost what the whole does), a draft or a
kept sketch of another size draws the whole sketch. The least confident tokens refreshed with
a partial frame are taken near the redrawn cells (`refresh_near`), so the window stays there.

A partial frame's sketch may be a **draft** (`LiveParams.draft_side`): the renderer, whose cost
grows with the pixels it draws, draws it smaller and the caller enlarges it; the first still
frame after it draws the same tokens again at full size (no encoder, no transformer), so a face
that stops moving gets the full sketch a moment later. A from-scratch frame is never a draft.

Change is judged on block means of the photo's luma at twice the token grid (8 x 8 pixels of
a 256 px photo): averaging 64 pixels divides a camera's per-pixel noise by 8, so a threshold
of a few grey levels sees a blink and not the sensor. The median change of all blocks is
taken off first, so a camera's exposure drifting brightens the face without redrawing it.
Each cell is compared with the photo as it was when *that cell* was drawn, not with the last
frame: a face moving a pixel a frame adds up to a redraw instead of never reaching the
threshold (and leaving the old face's strokes behind, a ghost). A block that matches its
reference once the photo is shifted by up to `shift_tolerance` (a pixel of the 256 px input)
is unchanged too: the webcam crop follows a moving face to the nearest pixel
(app/logic/face_tracking.py), and a half-pixel step of a sharp edge moves a block mean by
more than the noise; on a 512 px sketch the kept strokes are then at most 2 px off, until
the offset adds up past the tolerance and those cells are drawn again.

Pure torch, no Qt: the window's decode jobs, the `video` command and the benchmarks share it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

PATHS = ("still", "partial", "scratch")

_LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class LiveParams:
    noise_level: float = 0.02  # block-mean change (of 1) that counts as change, not sensor noise
    cut_share: float = 0.5  # more of the cells changed than this: decode from scratch
    grow: int = 1  # cells around a changed cell re-masked with it
    refresh_share: float = 0.03  # the least confident kept tokens re-masked with a partial frame
    steps: int = 1  # decoding steps of a partial frame (one pass: as steady as two, measured)
    shift_tolerance: float = 1 / 256  # of the photo side: a block this far off its reference is not changed
    draft_side: int | None = None  # a partial frame drawn with its longer side at most this (None: full size)
    person_level: float | None = 0.5  # a cell's mean person probability above this: the person's (None: all count)
    person_grow: int = 0  # cells around the person's that count as the person's too
    refresh_near: int | None = 2  # the refreshed tokens lie within this many cells of the redrawn ones (None: anywhere)
    window_grow: int = 2  # cells around the changed ones a partial frame's sketch draws again
    window_share: float | None = 0.6  # a window seeing more of the sketch than this: the whole one (None: always)
    feather: float = 0.25  # of a cell: the pasted window's edge blended into the kept sketch over this


@dataclass(frozen=True)
class FramePlan:
    path: str  # one of PATHS
    changed: torch.Tensor  # (1, N) bool: cells whose photo changed (all for scratch), the person's only
    redraw: torch.Tensor | None  # (1, N) bool: re-masked cells of a partial frame, else None
    init_tokens: torch.Tensor | None  # (1, N) long: the tokens a partial or still frame starts from

    background: int = 0  # cells that changed outside the person, not redrawn
    person: torch.Tensor | None = None  # (1, N) bool: the person's cells in this frame, if known

    @property
    def redrawn(self) -> int:
        """Tokens this frame decodes."""
        if self.path == "still":
            return 0
        return int(self.changed.numel() if self.redraw is None else self.redraw.sum())


def _luma(photo: torch.Tensor) -> torch.Tensor:
    """photo (1, 3, S, S) -> its luma (1, 1, S, S) in float32."""
    return (photo.float() * photo.new_tensor(_LUMA, dtype=torch.float32).view(1, 3, 1, 1)).sum(1, keepdim=True)


def block_means(photo: torch.Tensor, grid: int) -> torch.Tensor:
    """photo (1, 3, S, S) in [0, 1] -> its luma's means over a (2 grid, 2 grid) raster (1, 2g, 2g)."""
    return F.adaptive_avg_pool2d(_luma(photo), 2 * grid).squeeze(1)  # (1, 2g, 2g)


def shifted_block_means(photo: torch.Tensor, grid: int, shift: int) -> torch.Tensor:
    """photo (1, 3, S, S) -> its block means (`block_means`) with the photo moved by every
    (dx, dy) in [-shift, shift]^2 pixels, edges repeated: (K, 2g, 2g), K = (2 shift + 1)^2,
    the unshifted one first."""
    if shift <= 0:
        return block_means(photo, grid)
    luma = _luma(photo)  # (1, 1, S, S)
    side = luma.shape[-1]
    padded = F.pad(luma, (shift,) * 4, mode="replicate")  # (1, 1, S + 2 shift, S + 2 shift)
    offsets = [(0, 0)] + [(dy, dx) for dy in range(-shift, shift + 1) for dx in range(-shift, shift + 1) if dy or dx]
    moved = torch.cat([padded[..., shift + dy:shift + dy + side, shift + dx:shift + dx + side] for dy, dx in offsets])
    return F.adaptive_avg_pool2d(moved, 2 * grid).squeeze(1)  # (K, 2g, 2g)


def changed_cells(now: torch.Tensor, ref: torch.Tensor, level: float) -> torch.Tensor:
    """Block means now and then (1, 2g, 2g) -> (1, g*g) bool: cells with a block that changed
    by more than `level`, after the median change (exposure drift) is taken off. `now` may
    hold several shifted views (K, 2g, 2g, `shifted_block_means`): a block is changed only
    if it differs in every one of them."""
    d = now - ref  # (K, 2g, 2g)
    d = (d - d.flatten(1).median(1).values.view(-1, 1, 1)).abs().amin(0, keepdim=True)  # (1, 2g, 2g)
    cell = F.max_pool2d(d.unsqueeze(1), 2).squeeze(1)  # (1, g, g): a cell's largest block change
    return (cell > level).flatten(1)  # (1, N)


def person_cells(person: torch.Tensor, grid: int, level: float) -> torch.Tensor:
    """A person probability map (1, h, w) (or (1, 1, h, w)) in [0, 1] -> (1, g*g) bool: the
    cells whose mean probability is above `level`."""
    p = person.float().reshape(1, 1, *person.shape[-2:])
    return (F.adaptive_avg_pool2d(p, grid) > level).flatten(1)  # (1, N)


def grow_cells(cells: torch.Tensor, grid: int, by: int) -> torch.Tensor:
    """(1, N) bool cells -> the same with every cell within `by` cells (a square) set too."""
    if by <= 0:
        return cells
    m = cells.view(1, 1, grid, grid).float()
    return (F.max_pool2d(m, 2 * by + 1, stride=1, padding=by) > 0).flatten(1)  # (1, N)


class LiveStream:
    """The state of one stream of frames (see the module docstring). Not thread-safe: one
    decode of the stream at a time (the window's policy runs one job in flight). A pipeline
    may draw a frame's sketch on a second thread while the next frame is planned, decoded and
    committed on the first: the planning side (`plan`, `window_cells`, `commit`) and the
    drawing side (`window_box`, `kept_sketch`, `paste_window`, `keep_sketch`) share no field,
    so one thread each may use them, the sketches kept in the frames' order."""

    def __init__(self, grid: int, params: LiveParams = LiveParams()):
        self.grid = grid
        self.params = params
        self.reset()

    def reset(self) -> None:
        """Forget the last sketch: the next frame decodes from scratch."""
        self.key = None  # what the tokens were sampled with (model, style, settings)
        self.tokens: torch.Tensor | None = None  # (1, N) long
        self.confidence: torch.Tensor | None = None  # (1, N) float: each token's when it was fixed
        self.ref: torch.Tensor | None = None  # (1, 2g, 2g): the photo's blocks when each cell was drawn
        self.person: torch.Tensor | None = None  # (1, N) bool: the person's cells when last drawn, if known
        self.sketch = None  # the finished sketch of `tokens` (the caller's type), with its size
        self.sketch_size: tuple[int, int] | None = None
        self.sketch_draft = False  # the kept sketch is a partial frame's draft: a still frame draws it again
        self.view = None  # the last framed frame (the caller's: its face and crop), with its blocks
        self.view_ref: torch.Tensor | None = None
        self.view_size = None
        self.counts = dict.fromkeys(PATHS, 0)

    def still_view(self, blocks: torch.Tensor, size) -> bool:
        """Whether a whole frame's block means (1, h, w) show the view the face was last found
        in (same frame size, no block changed beyond noise): then that face and crop stand."""
        return (self.view is not None and self.view_size == size and self.view_ref.shape == blocks.shape
                and not changed_cells(blocks, self.view_ref, self.params.noise_level).any())

    def keep_view(self, blocks: torch.Tensor, size, view) -> None:
        """The face was found in this frame (block means (1, h, w)): `view` holds it."""
        self.view, self.view_ref, self.view_size = view, blocks.clone(), size

    def draw_size(self, plan: FramePlan, size: tuple[int, int]) -> tuple[int, int]:
        """(H, W) to render `plan`'s sketch at when it is shown at `size`: smaller for a
        partial frame's draft (`LiveParams.draft_side`), else `size`."""
        side = self.params.draft_side
        if plan.path != "partial" or not side or max(size) <= side:
            return tuple(size)
        k = side / max(size)
        return max(1, round(size[0] * k)), max(1, round(size[1] * k))

    def kept_sketch(self, size: tuple[int, int]):
        """The last sketch, for a still frame shown at `size`: None when it must be drawn again
        (another size, or a draft)."""
        return self.sketch if self.sketch_size == tuple(size) and not self.sketch_draft else None

    def window_cells(self, plan: FramePlan, tokens: torch.Tensor) -> torch.Tensor | None:
        """The cells (1, N) bool a partial frame whose decode gave `tokens` must draw again (its
        changed photo cells and changed tokens, grown by `window_grow`), or None for the whole
        sketch; before the frame is committed (it compares with the tokens drawn last)."""
        p = self.params
        if plan.path != "partial" or p.window_share is None or self.tokens is None:
            return None
        return grow_cells(plan.changed | (tokens.to(self.tokens.device) != self.tokens), self.grid, p.window_grow)

    def window_box(self, cells: torch.Tensor | None, size: tuple[int, int], margin: int = 0):
        """`window_cells` as the part of the kept sketch to draw again when shown at `size` (H,
        W): (top, left, height, width) in pixels, or None for the whole sketch (not a partial
        frame, no kept sketch at that size, or a window that, with the `margin` pixels the
        renderer must see around it, covers more than `window_share` of the sketch: then
        drawing it costs what the whole does). A pipeline asks it on the drawing thread."""
        p, g = self.params, self.grid
        if cells is None or not cells.any() or p.window_share is None or self.kept_sketch(size) is None:
            return None
        rows, cols = cells.view(g, g).nonzero(as_tuple=True)
        r0, r1, c0, c1 = int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1
        H, W = size
        top, left = r0 * H // g, c0 * W // g
        bottom, right = -(-r1 * H // g), -(-c1 * W // g)
        seen = (min(H, bottom + margin) - max(0, top - margin)) * (min(W, right + margin) - max(0, left - margin))
        if seen > p.window_share * H * W:
            return None
        return top, left, bottom - top, right - left

    def paste_window(self, part, window: tuple[int, int, int, int], size: tuple[int, int]):
        """The kept sketch (an (H, W) uint8 array) with `part` (h, w) uint8 drawn at `window`
        (`window_box`), its edges inside the sketch blended over `feather` of a cell."""
        top, left, h, w = window
        H, W = size
        out = np.array(self.kept_sketch(size), copy=True)
        ramp = max(1.0, self.params.feather * min(H, W) / self.grid)

        def weights(n: int, lo_edge: bool, hi_edge: bool) -> np.ndarray:
            i = np.arange(n, dtype=np.float32)
            a = np.ones(n, dtype=np.float32)
            if lo_edge:
                a = np.minimum(a, (i + 0.5) / ramp)
            if hi_edge:
                a = np.minimum(a, (n - i - 0.5) / ramp)
            return a

        a = np.outer(weights(h, top > 0, top + h < H), weights(w, left > 0, left + w < W))  # (h, w) in (0, 1]
        old = out[top:top + h, left:left + w].astype(np.float32)
        out[top:top + h, left:left + w] = np.clip(old + a * (part.astype(np.float32) - old) + 0.5, 0, 255).astype(np.uint8)
        return out

    def plan(self, photo: torch.Tensor, key, person: Callable[[], torch.Tensor | None] | None = None) -> FramePlan:
        """How to draw `photo` (1, 3, S, S) in [0, 1] (the model's input: the crop at the
        encoder's size) sampled with `key` (anything comparable: model, style, settings).
        person: gives the photo's person probability (1, h, w) in [0, 1], or None; asked only
        when some cell changed (it costs a segmentation)."""
        p = self.params
        views = shifted_block_means(photo, self.grid, int(round(p.shift_tolerance * photo.shape[-1])))  # (K, 2g, 2g)
        n = self.grid * self.grid
        if self.tokens is None or self.key != key or self.ref is None or self.ref.shape[1:] != views.shape[1:]:
            return self._scratch(n, person)
        changed = changed_cells(views, self.ref, p.noise_level)  # (1, N)
        mask = person() if person is not None and p.person_level is not None and changed.any() else None
        now_person, background = None, 0
        if mask is not None:
            now_person = person_cells(mask, self.grid, p.person_level)  # (1, N)
            theirs = now_person if self.person is None else now_person | self.person
            kept = changed & grow_cells(theirs, self.grid, p.person_grow)
            background, changed = int((changed & ~kept).sum()), kept
        share = float(changed.float().mean())
        if share > p.cut_share:
            return self._scratch(n, person, now_person)
        if not changed.any():
            return FramePlan("still", changed, None, self.tokens, background)
        redraw = grow_cells(changed, self.grid, p.grow)  # (1, N)
        near = ~redraw if p.refresh_near is None else grow_cells(redraw, self.grid, p.refresh_near) & ~redraw
        k = min(int(round(p.refresh_share * n)), int(near.sum()))
        if k > 0:  # the least confident of the kept tokens near the change get another look, with the new context
            conf = self.confidence.masked_fill(~near, float("inf"))  # (1, N)
            redraw = redraw.clone()
            redraw[0, conf[0].topk(k, largest=False).indices] = True
        return FramePlan("partial", changed, redraw, self.tokens, background, now_person)

    def _scratch(self, n: int, person, now_person: torch.Tensor | None = None) -> FramePlan:
        if now_person is None and person is not None and self.params.person_level is not None:
            mask = person()  # the decode computes it anyway (the encoder's map), so it is kept
            now_person = None if mask is None else person_cells(mask, self.grid, self.params.person_level)
        return FramePlan("scratch", torch.ones(1, n, dtype=torch.bool), None, None, person=now_person)

    def keep_sketch(self, sketch, size: tuple[int, int], draft: bool = False) -> None:
        """The finished sketch of the tokens committed last, shown at `size` (`draft`: drawn
        smaller and enlarged): what a still frame shows and a window is pasted into."""
        self.sketch, self.sketch_size, self.sketch_draft = sketch, tuple(size), draft

    def commit(self, plan: FramePlan, photo: torch.Tensor, key, tokens: torch.Tensor,
               confidence: torch.Tensor | None) -> None:
        """The frame `plan` was made for is decoded: `tokens` (1, N) and the confidence (1, N)
        each re-drawn token was fixed with (None for a still frame). Its sketch follows with
        `keep_sketch`; until then the last one stays kept (a pipeline draws it meanwhile)."""
        now = block_means(photo, self.grid)
        self.counts[plan.path] += 1
        self.key = key
        if plan.path == "still":
            return
        drawn = torch.ones_like(plan.changed) if plan.redraw is None else plan.redraw  # (1, N)
        cells = drawn.view(1, self.grid, self.grid)
        blocks = cells.repeat_interleave(2, dim=1).repeat_interleave(2, dim=2)  # (1, 2g, 2g)
        self.ref = now.clone() if self.ref is None or plan.path == "scratch" else torch.where(blocks, now, self.ref)
        if plan.person is not None:  # the person where cells were drawn now, as it was elsewhere
            self.person = plan.person.clone() if self.person is None or plan.path == "scratch" else torch.where(
                drawn, plan.person, self.person)
        elif plan.path == "scratch":
            self.person = None
        self.tokens = tokens.detach().clone()
        conf = confidence.detach().float().clone() if confidence is not None else torch.ones(tokens.shape)
        self.confidence = conf if self.confidence is None or plan.path == "scratch" else torch.where(
            drawn, conf, self.confidence)


def fixed_confidence(steps_confidence, steps_newly_fixed, start: torch.Tensor | None = None) -> torch.Tensor:
    """The confidence each token was fixed with, from a decode's steps: the `confidence` and
    `newly_fixed` (B, N) of each StepResult in order; `start` for the tokens known before."""
    conf = None if start is None else start.float().clone()
    for c, fixed in zip(steps_confidence, steps_newly_fixed):
        if conf is None:
            conf = torch.ones(c.shape)
        conf = torch.where(fixed.cpu(), c.float().cpu(), conf)
    return conf
