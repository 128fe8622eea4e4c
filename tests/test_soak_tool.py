"""tools/soak.py (the memory soak benchmark) runs both paths in-process and reports its numbers."""
import importlib.util
import json
from pathlib import Path

SOAK = Path(__file__).resolve().parent.parent / "tools" / "soak.py"


def load_soak():
    spec = importlib.util.spec_from_file_location("soak", SOAK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
