/* The vital-sign view: fetches /api/vitals (same origin, session cookie), draws one plotly chart per vital on a
   shared time axis, and a table with every value under each chart. No tokens here: the backend holds them. */
(function () {
  "use strict";
  var root = document.getElementById("vitals");
  if (!root) { return; }
  var lang = document.documentElement.lang === "en" ? "en" : "nb";
  var T = {
    nb: {
      loading: "Henter målinger …", empty: "Ingen målinger er delt ennå. De vises her når pasienten har målt og sendt inn fra måleutstyret sitt.",
      emptyOwn: "Du har ingen delte målinger ennå. De vises her når du har målt og sendt inn fra måleutstyret ditt.",
      error: "Kunne ikke hente målingene.", retry: "Prøv igjen", last: "Sist målt", table: "Vis alle verdier i tabell",
      time: "Tid", value: "Verdi", by: "Målt av", org: "Ansvarlig", device: "Utstyr", more: "Vis flere",
      partial: "Ikke alle målinger kom med: ", count: " målinger", chartLabel: "Diagram: ",
      born: "Født", fnr: "Fødselsnr."
    },
    en: {
      loading: "Loading measurements …", empty: "No measurements have been shared yet. They appear here once the patient has measured and sent them from their device.",
      emptyOwn: "You have no shared measurements yet. They appear here once you have measured and sent them from your device.",
      error: "Could not load the measurements.", retry: "Try again", last: "Last measured", table: "Show every value in a table",
      time: "Time", value: "Value", by: "Measured by", org: "Responsible", device: "Device", more: "Show more",
      partial: "Not every measurement was included: ", count: " measurements", chartLabel: "Chart: ",
      born: "Born", fnr: "National id"
    }
  }[lang];
  var statusBox = document.getElementById("status");
  var chartsBox = document.getElementById("charts");
  var plots = [];
  var syncing = false;
  var PAGE = 200;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function setStatus(kind, text) {
    statusBox.className = "status status-" + kind;
    statusBox.textContent = text;
    root.setAttribute("data-state", kind);
  }

  function load() {
    setStatus("loading", T.loading);
    chartsBox.textContent = "";
    fetch(root.getAttribute("data-api"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) { if (res.ok) { render(res.body); } else { fail(res.body); } })
      .catch(function () { fail(null); });
  }

  function fail(body) {
    var msg = body && body.error && body.error.message ? body.error.message[lang] : T.error;
    setStatus("error", msg + " ");
    var again = el("button", { type: "button" }, T.retry);
    again.addEventListener("click", load);
    statusBox.appendChild(again);
  }

  function banner(patient) {
    var box = document.getElementById("banner");
    if (!box || !patient) { return; }
    box.textContent = "";
    box.appendChild(el("span", { "class": "name" }, patient.name));
    box.appendChild(el("span", { "class": "birth" }, T.born + " " + patient.birth_date_text));
    if (patient.fnr_masked) { box.appendChild(el("span", { "class": "fnr" }, T.fnr + " " + patient.fnr_masked)); }
    box.hidden = false;
  }

  function render(body) {
    if (body.need_patient_banner) { banner(body.patient); }
    if (!body.charts.length) { setStatus("empty", root.getAttribute("data-audience") === "citizen" ? T.emptyOwn : T.empty); return; }
    setStatus("ready", body.complete ? "" : T.partial + body.note[lang]);
    body.charts.forEach(function (chart) { drawChart(chart, body.tables[chart.key]); });
  }

  function drawChart(chart, table) {
    var section = el("section", { "class": "vital", id: "vital-" + chart.key, "aria-labelledby": "h-" + chart.key });
    var head = el("h2", { id: "h-" + chart.key }, chart.label);
    section.appendChild(head);
    if (chart.last_measured) {
      section.appendChild(el("p", { "class": "last" }, T.last + " " + chart.last_measured[lang] + " (" + chart.last_measured.value + ")"));
    }
    var plot = el("div", { "class": "plot", role: "img", "aria-label": T.chartLabel + chart.label + ", " + table.rows.length + T.count });
    section.appendChild(plot);
    section.appendChild(buildTable(chart, table));
    chartsBox.appendChild(section);
    Plotly.newPlot(plot, chart.figure.data, chart.figure.layout, { responsive: true, displaylogo: false });
    plot.on("plotly_relayout", function (ev) { syncRange(plot, ev); });
    plots.push(plot);
  }

  function buildTable(chart, table) {
    var details = el("details", { "class": "table" });
    details.appendChild(el("summary", {}, T.table + " (" + table.rows.length + ")"));
    var t = el("table", {});
    t.appendChild(el("caption", {}, chart.label));
    var thead = el("thead", {}), tr = el("tr", {});
    [T.time].concat(table.columns.map(function (c) { return c[lang]; }), [T.by, T.org, T.device]).forEach(function (h) {
      tr.appendChild(el("th", { scope: "col" }, h));
    });
    thead.appendChild(tr);
    t.appendChild(thead);
    var tbody = el("tbody", {});
    t.appendChild(tbody);
    details.appendChild(t);
    var shown = 0;
    var more = el("button", { type: "button", "class": "more" }, T.more);
    function addRows() {
      table.rows.slice(shown, shown + PAGE).forEach(function (row) {
        var r = el("tr", {});
        r.appendChild(el("th", { scope: "row" }, row.time_oslo));
        row.values.forEach(function (v) { r.appendChild(el("td", {}, v)); });
        [row.performer, row.organisation, row.device].forEach(function (v) { r.appendChild(el("td", {}, v || "–")); });
        tbody.appendChild(r);
      });
      shown = Math.min(shown + PAGE, table.rows.length);
      more.hidden = shown >= table.rows.length;
    }
    more.addEventListener("click", addRows);
    addRows();
    details.appendChild(more);
    return details;
  }

  function syncRange(source, ev) {
    if (syncing) { return; }
    var update = null;
    if (ev["xaxis.range[0]"] !== undefined) {
      update = { "xaxis.range": [ev["xaxis.range[0]"], ev["xaxis.range[1]"]] };
    } else if (ev["xaxis.autorange"]) {
      update = { "xaxis.autorange": true };
    }
    if (!update) { return; }
    syncing = true;
    plots.forEach(function (p) { if (p !== source) { Plotly.relayout(p, update); } });
    syncing = false;
  }

  function showDays(days) {
    if (!plots.length) { return; }
    var end = null;
    plots.forEach(function (p) {
      p.data.forEach(function (trace) {
        var last = trace.x[trace.x.length - 1];
        if (!end || last > end) { end = last; }
      });
    });
    var update;
    if (days === "all") {
      update = { "xaxis.autorange": true };
    } else {
      var stop = new Date(end.replace(" ", "T"));
      var start = new Date(stop.getTime() - Number(days) * 86400000);
      var fmt = function (d) { return d.toISOString().slice(0, 19).replace("T", " "); };
      update = { "xaxis.range": [fmt(start), end] };
    }
    syncing = true;
    plots.forEach(function (p) { Plotly.relayout(p, update); });
    syncing = false;
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-days]"), function (button) {
    button.addEventListener("click", function () {
      Array.prototype.forEach.call(document.querySelectorAll("[data-days]"), function (b) { b.setAttribute("aria-pressed", "false"); });
      button.setAttribute("aria-pressed", "true");
      showDays(button.getAttribute("data-days"));
    });
  });

  load();
}());
