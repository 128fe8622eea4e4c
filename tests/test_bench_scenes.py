"""tools/bench/scenes.py: the fake camera's scenes show what their names say, so the live
benchmarks measure what BENCHMARKS says they measure."""
import numpy as np

from tools_loader import load_tool


def scenes():
    return load_tool("bench/scenes.py")


def test_each_scene_moves_what_it_should():
    sc = scenes()
    grab = {name: [np.asarray(f, dtype=np.float32) for f in sc.frames(16, name)] for name in sc.SCENES}
    assert all(f.shape == (480, 640, 3) for fs in grab.values() for f in fs)

    def change(fs, box):  # mean change from frame 0 to frame 4 inside (x0, y0, x1, y1)
        x0, y0, x1, y1 = box
        return float(np.abs(fs[4][y0:y1, x0:x1] - fs[0][y0:y1, x0:x1]).mean())

    room, face = (0, 0, 160, 480), (220, 140, 420, 340)  # left of the sitter; the face
    assert change(grab["still"], face) < 5  # sensor noise only (sigma 3)
    assert change(grab["slow"], face) > 5 and change(grab["slow"], room) < 5
    assert change(grab["busy"], room) < 5 < change(grab["busy"], face)  # the room stays, the sitter moves
    assert change(grab["busy"], room) < 5 and float(grab["busy"][0][:, :160].std()) > 30  # a room, not a wall
    mouth = (170 + 110, 90 + 160, 170 + 190, 90 + 205)
    eyes = (170 + 60, 90 + 90, 170 + 240, 90 + 130)
    assert change(grab["talk"], mouth) > 5 > change(grab["talk"], eyes)  # only the mouth moves
    # The turning face is not the drifting one moved: the same drift, other pixels in the face.
    assert float(np.abs(grab["turn"][4] - grab["busy"][4]).mean()) > 1
