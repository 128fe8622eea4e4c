"""SCOOT and FSIM checked against reference values computed independently of core.metrics, so a
change to either metric cannot silently move every figure in the docs.

SCOOT (Fan et al. 2019, "Scoot: a perceptual metric for facial sketches"; the FS2K toolbox's
MATLAB code): grey levels scaled to 6 as MATLAB's graycomatrix does with GrayLimits [0 255];
the image cut into 4 x 4 blocks; in each block a co-occurrence matrix at distance 1 for each of
the 4 orientations 0, 45, 90, 135 degrees (MATLAB offsets [0 1], [-1 1], [-1 0], [-1 -1]),
normalised; its Contrast sum (i-j)^2 p and Energy sum p^2 (graycoprops), averaged over the
orientations; Q = 1 / (1 + ||f_gt - f_pred||). `ref_scoot` below follows those words pixel by
pixel, sharing no code with core.metrics.

FSIM (Zhang et al. 2011): FSIM = sum(S_PC * S_G * PC_m) / sum(PC_m), with
S_PC = (2 PC1 PC2 + T1) / (PC1^2 + PC2^2 + T1), S_G likewise with gradient magnitudes and T2,
T1 = 0.85, T2 = 160, PC_m = max(PC1, PC2), gradient by the Scharr operator. The combination and
the gradient are re-derived here; phase congruency (Kovesi's log-Gabor filter bank) is not
re-implemented: it is checked by its properties and pinned by literal values.
"""
import math

import numpy as np
import pytest

from sketchstudio.core.metrics import fsim, fsim_features, scoot

LEVELS, BLOCKS = 6, 4
OFFSETS = ((0, 1), (-1, 1), (-1, 0), (-1, -1))  # (row, column): 0, 45, 90, 135 degrees


def ref_scoot(gt: np.ndarray, pred: np.ndarray) -> float:
    def level(v: int) -> int:  # MATLAB: round(1 + (L-1) * v / 255), here 0-based; no ties occur for L = 6
        return math.floor((LEVELS - 1) * v / 255 + 0.5)

    def features(img):
        h, w = img.shape
        q = [[level(int(img[r][c])) for c in range(w)] for r in range(h)]
        bh, bw = h // BLOCKS, w // BLOCKS
        out = []
        for br in range(BLOCKS):
            for bc in range(BLOCKS):
                contrast = energy = 0.0
                for dr, dc in OFFSETS:
                    counts = [[0] * LEVELS for _ in range(LEVELS)]
                    pairs = 0
                    for r in range(br * bh, (br + 1) * bh):
                        for c in range(bc * bw, (bc + 1) * bw):
                            r2, c2 = r + dr, c + dc
                            if br * bh <= r2 < (br + 1) * bh and bc * bw <= c2 < (bc + 1) * bw:
                                counts[q[r][c]][q[r2][c2]] += 1
                                pairs += 1
                    p = [[n / pairs for n in row] for row in counts]
                    contrast += sum((i - j) ** 2 * p[i][j] for i in range(LEVELS) for j in range(LEVELS)) / 4
                    energy += sum(p[i][j] ** 2 for i in range(LEVELS) for j in range(LEVELS)) / 4
                out += [contrast, energy]
        return out

    fa, fb = features(gt), features(pred)
    return 1.0 / (1.0 + math.sqrt(sum((a - b) ** 2 for a, b in zip(fa, fb))))


def strokes(seed: int, shape=(24, 20), n=10, ink=(0, 120)) -> np.ndarray:
    """A small sketch-like image: dark strokes on white."""
    rng = np.random.default_rng(seed)
    a = np.full(shape, 255, np.uint8)
    for _ in range(n):
        r, c = rng.integers(0, shape[0]), rng.integers(0, shape[1] - 6)
        a[r, c:c + 6] = rng.integers(*ink)
        rr = rng.integers(0, shape[0] - 6)
        a[rr:rr + 6, rng.integers(0, shape[1])] = rng.integers(*ink)
    return a


def pairs():
    rng = np.random.default_rng(5)
    return {
        "strokes vs strokes": (strokes(0), strokes(1)),
        "strokes vs blank": (strokes(2), np.full((24, 20), 255, np.uint8)),
        "strokes vs noise": (strokes(3), rng.integers(0, 256, (24, 20)).astype(np.uint8)),
        "gradient vs strokes": (np.tile(np.linspace(0, 255, 20), (24, 1)).astype(np.uint8), strokes(4, ink=(60, 200))),
    }


@pytest.mark.parametrize("name", list(pairs()))
def test_scoot_matches_an_independent_reference(name):
    gt, pred = pairs()[name]
    assert scoot(gt, pred) == pytest.approx(ref_scoot(gt, pred), abs=1e-9)
    assert scoot(pred, gt) == pytest.approx(scoot(gt, pred), abs=1e-12)  # symmetric by definition


def test_scoot_pinned_values():
    """Literal values (computed 2026-12-02 by both implementations): a change of both shows here."""
    got = {name: round(scoot(*p), 6) for name, p in pairs().items()}
    assert got == pytest.approx(PINNED_SCOOT, abs=2e-6), got


# --- FSIM ------------------------------------------------------------------------------------
def scharr_magnitude(img: np.ndarray) -> np.ndarray:
    """|gradient| by Scharr's kernels (3, 10, 3)/16, zero outside the image, one pixel at a time."""
    y = img.astype(np.float64)
    h, w = y.shape
    k = (3 / 16, 10 / 16, 3 / 16)

    def at(r, c):
        return y[r, c] if 0 <= r < h and 0 <= c < w else 0.0

    g = np.zeros_like(y)
    for r in range(h):
        for c in range(w):
            gx = sum(k[i + 1] * (at(r + i, c - 1) - at(r + i, c + 1)) for i in (-1, 0, 1))
            gy = sum(k[i + 1] * (at(r - 1, c + i) - at(r + 1, c + i)) for i in (-1, 0, 1))
            g[r, c] = math.hypot(gx, gy)
    return g


def ref_fsim_from_maps(pc1, g1, pc2, g2, t1=0.85, t2=160.0) -> float:
    num = den = 0.0
    for a, ga, b, gb in zip(pc1.ravel(), g1.ravel(), pc2.ravel(), g2.ravel()):
        s_pc = (2 * a * b + t1) / (a * a + b * b + t1)
        s_g = (2 * ga * gb + t2) / (ga * ga + gb * gb + t2)
        m = max(a, b)
        num += s_pc * s_g * m
        den += m
    return num / den


def fsim_pairs():
    rng = np.random.default_rng(9)
    face = np.full((40, 36), 230, np.uint8)
    face[8:30, 10:26] = 90
    face[14:17, 13:16] = 20
    face[14:17, 20:23] = 20
    return {
        "face vs shifted face": (face, np.roll(face, 2, axis=1)),
        "face vs strokes": (face, strokes(6, shape=(40, 36), n=20)),
        "strokes vs noise": (strokes(7, shape=(40, 36), n=20), rng.integers(0, 256, (40, 36)).astype(np.uint8)),
    }


@pytest.mark.parametrize("name", list(fsim_pairs()))
def test_fsim_gradient_and_combination_match_an_independent_reference(name):
    a, b = fsim_pairs()[name]
    (pc1, g1), (pc2, g2) = fsim_features(a), fsim_features(b)
    np.testing.assert_allclose(g1, scharr_magnitude(a), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(g2, scharr_magnitude(b), rtol=1e-9, atol=1e-9)
    assert fsim(a, b) == pytest.approx(ref_fsim_from_maps(pc1, g1, pc2, g2), abs=1e-12)


def test_phase_congruency_properties():
    step = np.full((32, 32), 40, np.uint8)
    step[:, 16:] = 220
    pc, _ = fsim_features(step)
    assert 0 <= pc.min() and pc.max() <= 1 + 1e-9
    assert np.allclose(pc, pc[0])  # the same on every row, as the image
    assert np.argmax(pc[0]) in (15, 16) and pc[0, 15:17].min() > 0.6  # strongest at the step
    a = fsim_pairs()["face vs strokes"][0]
    assert fsim(a, a) == pytest.approx(1.0)


def test_fsim_pinned_values():
    """Literal values (computed 2026-12-02): a change to phase congruency shows here."""
    got = {name: round(fsim(*p), 6) for name, p in fsim_pairs().items()}
    assert got == pytest.approx(PINNED_FSIM, abs=2e-6), got


PINNED_SCOOT = {"strokes vs strokes": 0.080168, "strokes vs blank": 0.05064, "strokes vs noise": 0.074062,
                "gradient vs strokes": 0.103924}
PINNED_FSIM = {"face vs shifted face": 0.800117, "face vs strokes": 0.509101, "strokes vs noise": 0.478179}
