"""Plotly figures for the vital-sign view: one chart per vital on a shared time axis, with normal bands.

Figures are built here as plotly figure data and drawn by plotly.js (from the plotly package) in the page. Times are shown in
Europe/Oslo; long series are thinned for drawing only (app.downsample keeps extremes); tables keep every value.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.downsample import downsample
from app.vitals import OSLO, VITALS, Point, VitalSeries, oslo

MAX_DRAWN_POINTS = 1500
DENSE_MARKERS = 400  # above this many drawn points, markers hide the line: draw the line only


@dataclass(frozen=True)
class Chart:
    key: str
    vitals: tuple[str, ...]
    label_nb: str
    label_en: str


CHARTS: tuple[Chart, ...] = (
    Chart("heart_rate", ("heart_rate",), "Puls", "Heart rate"),
    Chart("blood_pressure", ("bp_systolic", "bp_diastolic"), "Blodtrykk", "Blood pressure"),
    Chart("spo2", ("spo2",), "Oksygenmetning", "Oxygen saturation"),
    Chart("resp_rate", ("resp_rate",), "Respirasjonsfrekvens", "Respiratory rate"),
    Chart("temperature", ("temperature",), "Temperatur", "Body temperature"),
    Chart("weight", ("weight",), "Vekt", "Body weight"),
    Chart("glucose", ("glucose",), "Blodsukker", "Blood glucose"),
)

_HOVER = {
    "nb": "<b>%{y} %{meta}</b><br>%{customdata[0]}<br>Målt av: %{customdata[1]}<br>"
          "Ansvarlig: %{customdata[2]}<br>Utstyr: %{customdata[3]}<extra>%{fullData.name}</extra>",
    "en": "<b>%{y} %{meta}</b><br>%{customdata[0]}<br>Measured by: %{customdata[1]}<br>"
          "Responsible: %{customdata[2]}<br>Device: %{customdata[3]}<extra>%{fullData.name}</extra>",
}
_UNKNOWN = {"nb": "ukjent", "en": "unknown"}
_COLOURS = {"bp_systolic": "#b5172b", "bp_diastolic": "#1f5fa8"}


def _local(point: Point) -> str:
    """Oslo wall-clock time without offset: plotly.js draws date strings as given, with no zone."""
    return point.time.astimezone(OSLO).strftime("%Y-%m-%d %H:%M:%S")


def _trace(key: str, points: list[Point], lang: str) -> dict[str, Any]:
    """A plotly.js `scatter` trace (plotly.com/javascript/reference/scatter)."""
    vital = VITALS[key]
    unknown = _UNKNOWN[lang]
    colour = _COLOURS.get(key, "#0b6e4f")
    return {
        "type": "scatter",
        "x": [_local(p) for p in points],
        "y": [round(p.value, vital.decimals) for p in points],
        "customdata": [[oslo(p.time, lang), p.performer or unknown, p.organisation or unknown, p.device or unknown]
                       for p in points],
        "name": vital.label_nb if lang == "nb" else vital.label_en,
        "meta": vital.unit_display,
        "mode": "lines+markers" if len(points) <= DENSE_MARKERS else "lines",
        "marker": {"size": 5, "color": colour},
        "line": {"width": 1.5, "color": colour},
        "hovertemplate": _HOVER[lang],
    }


def _band(key: str) -> dict[str, Any] | None:
    """The vital's normal range as a shaded band behind the points (a layout `rect` shape)."""
    vital = VITALS[key]
    if vital.normal_low is None and vital.normal_high is None:
        return None
    return {"type": "rect", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y",
            "y0": vital.normal_low if vital.normal_low is not None else 0,
            "y1": vital.normal_high if vital.normal_high is not None else 100,
            "fillcolor": _COLOURS.get(key, "#0b6e4f"), "opacity": 0.08, "line": {"width": 0}, "layer": "below"}


def figure(chart: Chart, series: VitalSeries, lang: str = "nb", x_range: tuple[str, str] | None = None) -> dict[str, Any]:
    """The chart's plotly figure as a JSON-ready dict (points thinned for drawing only).

    Built as plain data in plotly's figure schema: plotly.graph_objects validates every value and costs
    a quarter of a second per lookup; tests validate these dicts with it instead.
    """
    keys = [key for key in chart.vitals if series[key]]
    data = [_trace(key, downsample(series[key], MAX_DRAWN_POINTS), lang) for key in keys]
    shapes = [band for band in map(_band, keys) if band]
    xaxis: dict[str, Any] = {"type": "date", "gridcolor": "#eee", "hoverformat": "%d.%m.%Y %H:%M",
                             # Day.month ticks read the same in bokmål and English (plotly.js has English months).
                             "tickformat": "%-d.%-m.\n%Y"}
    if x_range:
        xaxis["range"] = list(x_range)
    layout = {
        "height": 240, "margin": {"l": 56, "r": 16, "t": 8, "b": 32}, "showlegend": len(data) > 1,
        "legend": {"orientation": "h", "y": 1.12}, "hovermode": "closest", "plot_bgcolor": "white",
        "xaxis": xaxis, "yaxis": {"title": {"text": VITALS[chart.vitals[0]].unit_display}, "gridcolor": "#eee",
                                  "fixedrange": True},
        "shapes": shapes,
        "separators": ", " if lang == "nb" else ". ",  # decimal comma and thin thousands space in bokmål
    }
    return {"data": data, "layout": layout}


def shared_range(series: VitalSeries) -> tuple[str, str] | None:
    """The time span of every vital together, so all charts share one time axis."""
    times = [p.time for key in VITALS for p in series[key]]
    if not times:
        return None
    return _local(Point(min(times), 0, "", None)), _local(Point(max(times), 0, "", None))


def figures(series: VitalSeries, lang: str = "nb") -> list[dict[str, Any]]:
    """Every chart that has data, in clinical reading order, on one shared time range."""
    x_range = shared_range(series)
    out = []
    for chart in CHARTS:
        if any(series[key] for key in chart.vitals):
            out.append({
                "key": chart.key,
                "label": chart.label_nb if lang == "nb" else chart.label_en,
                "vitals": [key for key in chart.vitals if series[key]],
                "figure": figure(chart, series, lang, x_range),
            })
    return out


def table(chart: Chart, series: VitalSeries, lang: str = "nb") -> dict[str, Any]:
    """Every value of a chart (nothing thinned), newest first: one row per instant, one column per vital."""
    keys = [key for key in chart.vitals if series[key]]
    rows: dict[Any, dict[str, Any]] = {}
    for column, key in enumerate(keys):
        vital = VITALS[key]
        for p in series[key]:
            row = rows.setdefault(p.time, {"time": p.time, "values": [""] * len(keys), "performer": p.performer,
                                           "organisation": p.organisation, "device": p.device})
            row["values"][column] = vital.format(p.value, lang)
    ordered = sorted(rows.values(), key=lambda r: r["time"], reverse=True)
    return {
        "columns": [{"nb": VITALS[k].label_nb, "en": VITALS[k].label_en} for k in keys],
        "rows": [{**r, "time": r["time"].isoformat(), "time_oslo": oslo(r["time"], lang)} for r in ordered],
    }
