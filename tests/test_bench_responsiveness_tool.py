"""tools/bench/bench_responsiveness.py (the style-storm stall benchmark) runs and reports; its timing is
measured, not asserted (docs/RELIABILITY.md)."""
import json

from tools_loader import load_tool


def test_the_storm_benchmark_reports_its_figures(qapp, capsys):
    tool = load_tool("bench/bench_responsiveness.py")
    assert tool.main(["--tiny", "--seconds", "0.3", "--repeats", "1", "--steps", "4", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (run,) = report["runs"]
    assert run["moves"] >= 1 and run["started"] >= 1 and run["failed"] == 0 and run["last_style_shown"]
    assert run["max_gap_ms"] > 0 and run["ticks"] >= 2
