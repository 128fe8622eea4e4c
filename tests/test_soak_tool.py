"""tools/bench/soak.py (the memory soak benchmark) runs both paths in-process and reports its numbers."""
import json

from tools_loader import load_tool


def load_soak():
    return load_tool("bench/soak.py")


def test_soak_runs_both_paths_and_reports_memory(qapp, tiny_checkpoint, capsys):
    soak = load_soak()
    assert soak.main(["--model", str(tiny_checkpoint), "--n", "20", "--steps", "4", "--every", "8", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 20 and report["steps"] == 4 and report["start_rss_mb"] > 0
    assert set(report["paths"]) == {"cli", "gui"}
    for s in report["paths"].values():
        assert s["decodes"] == 20 and s["warmup"] == 10  # at most half the decodes
        assert [r["decode"] for r in s["rss"]] == [8, 10, 16, 20]
        assert all(r["rss_mb"] > 0 and r["elapsed_s"] > 0 for r in s["rss"])
        assert s["warm_rss_mb"] > 0 and s["final_rss_mb"] > 0 and s["decode_s"] > 0 and s["first_decodes_s"] > 0
        assert s["growth_mb"] == round(s["final_rss_mb"] - s["warm_rss_mb"], 1)
        assert isinstance(s["growth_kb_per_decode"], float)


def test_soak_prints_a_table(qapp, tiny_checkpoint, capsys):
    soak = load_soak()
    assert soak.main(["--model", str(tiny_checkpoint), "--n", "4", "--steps", "2", "--path", "cli"]) == 0
    out = capsys.readouterr().out
    assert "RSS MB" in out and "growth after decode 2" in out and "gui" not in out


def test_soak_exits_1_when_memory_grows_over_the_limit(qapp, tiny_checkpoint, capsys, monkeypatch):
    soak = load_soak()
    readings = iter(range(1000, 100000, 30))  # a leak: 30 MB more at every reading
    monkeypatch.setattr(soak, "rss_mb", lambda: float(next(readings)))
    args = ["--model", str(tiny_checkpoint), "--n", "4", "--steps", "1", "--every", "1", "--path", "cli", "--json"]
    assert soak.main(args) == 1  # warm-up at decode 2, last reading at 4: +60 MB
    report = json.loads(capsys.readouterr().out)
    assert report["max_growth_mb"] == 50 and report["over_limit"] == ["cli"]
    assert report["paths"]["cli"]["growth_mb"] == 60 and report["paths"]["cli"]["peak_growth_mb"] == 60
    assert soak.main([*args, "--max-growth-mb", "60"]) == 0  # at the limit is within it
    readings = iter([1000.0] * 20)  # flat: no growth
    monkeypatch.setattr(soak, "rss_mb", lambda: next(readings))
    assert soak.main(args) == 0
