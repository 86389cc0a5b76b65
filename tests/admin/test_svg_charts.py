"""Server-rendered charts: well-formed SVG, one bar segment per count, labels escaped."""

import xml.etree.ElementTree as ET

from bot.service.svg_charts import horizontal_bars, stacked_bars

NS = "{http://www.w3.org/2000/svg}"


def test_stacked_bars_draw_one_segment_per_nonzero_count() -> None:
    svg = stacked_bars(
        [("03-01", {"answer": 3, "route": 1}), ("03-02", {"emergency": 2})], "Per day"
    )
    root = ET.fromstring(str(svg))
    classes = [r.get("class") for r in root.iter(f"{NS}rect") if r.get("class")]
    assert classes == ["bar-answer", "bar-route", "bar-emergency"]
    heights = [float(r.get("height")) for r in root.iter(f"{NS}rect") if r.get("class")]
    assert heights[0] == 3 * heights[1]  # proportional to the counts


def test_labels_are_escaped() -> None:
    evil = '<script>alert(1)</script>"&'
    svg = str(horizontal_bars([(evil, 2.0), ("ok", 1.0)], "Top <intents>"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = ET.fromstring(svg)  # still well-formed XML
    widths = [float(r.get("width")) for r in root.iter(f"{NS}rect")]
    assert widths[0] == 2 * widths[1]


def test_empty_charts_render() -> None:
    assert "no data yet" in str(horizontal_bars([], "Nothing"))
    ET.fromstring(str(stacked_bars([], "Nothing")))
