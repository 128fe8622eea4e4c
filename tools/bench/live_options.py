"""The reuse path's options the live benches share (bench_webcam, bench_live_steadiness, bench_video):
each turns one of core.live.LiveParams' levers, so a run can measure the path with and without it."""
from __future__ import annotations

from dataclasses import replace


def add_live_options(p) -> None:
    p.add_argument("--partial-steps", type=int, help="decoding steps of a partial frame on the reuse path "
                   "(default: core.live.LiveParams')")
    p.add_argument("--draft-side", type=int, help="partial frames drawn with their longer side at most PX and "
                   "enlarged, drawn again in full when still (default: the stream's; 0: never)")
    p.add_argument("--everywhere", action="store_true", help="cells that changed outside the person are redrawn "
                   "too (LiveParams.person_level None: the reuse path before it looked at the person)")
    p.add_argument("--whole", action="store_true", help="a partial frame draws the whole sketch and refreshes "
                   "tokens anywhere (LiveParams.window_share and refresh_near None: the reuse path before windows)")


def live_params(args, params):
    """`params` (a LiveParams) with the levers the options name."""
    if args.partial_steps:
        params = replace(params, steps=args.partial_steps)
    if args.draft_side is not None:
        params = replace(params, draft_side=args.draft_side or None)
    if args.everywhere:
        params = replace(params, person_level=None)
    if args.whole:
        params = replace(params, window_share=None, refresh_near=None)
    return params


def describe(params) -> str:
    """One line: how the stream's partial frames are drawn."""
    return (f"partial frames in {params.steps} step(s), "
            f"{'drafts at ' + str(params.draft_side) + ' px' if params.draft_side else 'at full size'}, "
            f"{'the whole sketch' if params.window_share is None else 'the changed window'} drawn, changes "
            f"{'anywhere' if params.person_level is None else 'on the person only'} redrawn")
