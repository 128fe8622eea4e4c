"""tools/bench/bench_webcam.py (webcam mode's finished sketches per second) runs and reports; its rate
is measured, not asserted (docs/BENCHMARKS.md)."""
import json

from tools_loader import load_tool


def test_the_webcam_benchmark_feeds_frames_and_counts_sketches(qapp, capsys):
    tool = load_tool("bench/bench_webcam.py")
    assert tool.main(["--tiny", "--seconds", "2", "--fps", "20", "--steps", "6", "--live-steps", "3", "--path",
                      "scratch", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["frames_sent"] >= 10 and report["sketches_finished"] >= 1 and report["errors"] == []
    assert report["steps"] == 3  # the live cap, not the studio's 6
    assert report["frames_dropped"] <= report["frames_sent"]
    assert report["paths_taken"]["scratch"] == report["sketches_finished"]


def test_the_webcam_benchmark_measures_both_paths_in_one_run(qapp, capsys):
    tool = load_tool("bench/bench_webcam.py")
    assert tool.main(["--tiny", "--seconds", "2", "--fps", "20", "--scene", "still", "--json"]) == 0
    scratch, reuse = json.loads(capsys.readouterr().out)
    assert (scratch["path"], reuse["path"]) == ("scratch", "reuse")
    assert scratch["paths_taken"]["still"] == 0 and reuse["paths_taken"]["still"] >= 1  # a still face is reused
    frames = tool.frames(3)
    assert all(f.size == (640, 480) for f in frames) and frames[0].tobytes() != frames[1].tobytes()
