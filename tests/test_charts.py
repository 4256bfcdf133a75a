"""Chart figures: one per vital present, BP together, Oslo times, normal bands, long series thinned."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.charts import MAX_DRAWN_POINTS, figures
from app.vitals import Point, VitalSeries

T0 = datetime(2026, 7, 1, 6, 0, tzinfo=timezone.utc)


def _series() -> VitalSeries:
    series = VitalSeries()
    series.points["heart_rate"] = [Point(T0 + timedelta(hours=i), 70 + i, "/min", f"hr{i}", "Kari Nordmann",
                                         "Asker kommune", "Omron M7") for i in range(3)]
    series.points["bp_systolic"] = [Point(T0, 142, "mm[Hg]", "bp1")]
    series.points["bp_diastolic"] = [Point(T0, 91, "mm[Hg]", "bp1")]
    return series


def test_only_vitals_with_data_get_a_chart_and_bp_is_drawn_together() -> None:
    charts = figures(_series())
    assert [c["key"] for c in charts] == ["heart_rate", "blood_pressure"]
    bp = charts[1]["figure"]["data"]
    assert [t["y"] for t in bp] == [[142], [91]]
    assert [t["name"] for t in bp] == ["Systolisk blodtrykk", "Diastolisk blodtrykk"]


def test_points_are_placed_in_oslo_time_and_hover_names_who_and_what() -> None:
    trace = figures(_series())[0]["figure"]["data"][0]
    assert trace["x"][0] == "2026-07-01 08:00:00"  # 06:00 UTC is 08:00 in Oslo in summer
    assert trace["customdata"][0] == ["01.07.2026 kl. 08:00", "Kari Nordmann", "Asker kommune", "Omron M7"]
    assert "Målt av" in trace["hovertemplate"]
    assert figures(_series())[0]["figure"]["layout"]["separators"] == ", "  # 37,2 in bokmål
    english = figures(_series(), lang="en")[0]["figure"]["data"][0]
    assert "Measured by" in english["hovertemplate"]
    assert english["customdata"][0][0] == "01.07.2026 at 08:00"


def test_charts_share_one_time_range_and_show_normal_bands() -> None:
    charts = figures(_series())
    ranges = {tuple(c["figure"]["layout"]["xaxis"]["range"]) for c in charts}
    assert ranges == {("2026-07-01 08:00:00", "2026-07-01 10:00:00")}
    band = charts[0]["figure"]["layout"]["shapes"][0]
    assert (band["y0"], band["y1"]) == (51, 90)


def test_long_series_is_thinned_for_drawing_but_keeps_its_extremes() -> None:
    series = VitalSeries()
    values = [60 + (i % 40) for i in range(20000)]
    values[12345] = 171
    series.points["heart_rate"] = [Point(T0 + timedelta(minutes=25 * i), v, "/min", f"o{i}")
                                   for i, v in enumerate(values)]
    trace = figures(series)[0]["figure"]["data"][0]
    assert len(trace["y"]) <= MAX_DRAWN_POINTS
    assert 171 in trace["y"] and min(trace["y"]) == 60


def test_table_keeps_every_value_newest_first_with_bp_side_by_side() -> None:
    from app.charts import CHARTS, table

    series = _series()
    bp = table(CHARTS[1], series)
    assert [c["nb"] for c in bp["columns"]] == ["Systolisk blodtrykk", "Diastolisk blodtrykk"]
    assert bp["rows"][0]["values"] == ["142 mmHg", "91 mmHg"]
    hr = table(CHARTS[0], series)
    assert [r["values"][0] for r in hr["rows"]] == ["72 /min", "71 /min", "70 /min"]
    assert hr["rows"][0]["performer"] == "Kari Nordmann"


def test_every_figure_is_a_valid_plotly_figure() -> None:
    import plotly.graph_objects as go

    for chart in figures(_series()):
        go.Figure(chart["figure"])  # raises on any property plotly.js does not know
