// The ops page, live: poll /ops/stats.json, update the tables and draw small SVG charts from
// the figures this page has seen (no chart library; SVG attributes are not styles, so the
// Content-Security-Policy stays strict).
"use strict";

(function () {
  var HISTORY = 60;
  var SVG = "http://www.w3.org/2000/svg";
  var series = {};  // key → [numbers]

  function remember(key, value) {
    var list = series[key] || (series[key] = []);
    list.push(value);
    if (list.length > HISTORY) list.shift();
    return list;
  }

  function sparkline(values, label) {
    var width = 160, height = 32;
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.setAttribute("role", "img");
    svg.setAttribute("class", "spark");
    var title = document.createElementNS(SVG, "title");
    title.textContent = label;
    svg.appendChild(title);
    var top = Math.max.apply(null, values.concat([1e-9]));
    var step = width / Math.max(1, HISTORY - 1);
    var points = values.map(function (v, i) {
      var x = width - (values.length - 1 - i) * step;
      var y = height - 2 - (v / top) * (height - 4);
      return x.toFixed(1) + "," + y.toFixed(1);
    });
    var base = document.createElementNS(SVG, "line");
    base.setAttribute("x1", "0");
    base.setAttribute("x2", String(width));
    base.setAttribute("y1", String(height - 1));
    base.setAttribute("y2", String(height - 1));
    base.setAttribute("stroke", "#d9dee5");
    svg.appendChild(base);
    var last = points[points.length - 1].split(",");
    var dot = document.createElementNS(SVG, "circle");
    dot.setAttribute("cx", last[0]);
    dot.setAttribute("cy", last[1]);
    dot.setAttribute("r", "2.5");
    dot.setAttribute("fill", "#2f5fd0");
    svg.appendChild(dot);
    var line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", points.join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", "#2f5fd0");
    line.setAttribute("stroke-width", "1.5");
    svg.appendChild(line);
    svg.setAttribute("aria-label", label);
    return svg;
  }

  function draw(cell, values, label) {
    if (!cell) return;
    cell.textContent = "";
    cell.appendChild(sparkline(values, label));
  }

  function setText(root, name, text) {
    var cell = root && root.querySelector("[data-cell=" + name + "]");
    if (cell) cell.textContent = text;
  }

  function row(body, attr, key, cells) {
    var found = body.querySelector("[" + attr + "=\"" + CSS.escape(key) + "\"]");
    if (found) return found;
    var tr = document.createElement("tr");
    tr.setAttribute(attr, key);
    var th = document.createElement("th");
    th.scope = "row";
    th.textContent = key;
    tr.appendChild(th);
    cells.forEach(function (name) {
      var td = document.createElement("td");
      td.setAttribute(name.indexOf("chart:") === 0 ? "data-chart" : "data-cell", name.replace("chart:", ""));
      tr.appendChild(td);
    });
    body.appendChild(tr);
    return tr;
  }

  function update(doc, previous) {
    document.querySelector("[data-ops-pid]").textContent = doc.answered_by;
    var ready = document.querySelector("[data-ops-ready]");
    ready.textContent = doc.ready ? "ready" : "not ready";
    ready.className = "state " + (doc.ready ? "ok" : "bad");
    document.querySelector("[data-ops-updated]").textContent =
      "(updated " + new Date(doc.time * 1000).toLocaleTimeString() + ", every 2 s)";

    var models = document.querySelector("[data-ops-models]");
    Object.keys(doc.models).sort().forEach(function (name) {
      var m = doc.models[name];
      var tr = row(models, "data-model", name, ["versions", "requests", "errors", "latency", "chart:requests"]);
      setText(tr, "requests", m.requests);
      setText(tr, "errors", m.errors);
      setText(tr, "latency", m.mean_latency_ms === null ? "–" : m.mean_latency_ms.toFixed(2) + " ms");
      var before = previous && previous.models[name] ? previous.models[name].requests : m.requests;
      var values = remember("req:" + name, Math.max(0, m.requests - before));
      draw(tr.querySelector("[data-chart=requests]"), values, "Requests per poll for " + name);
    });

    var workers = document.querySelector("[data-ops-workers]");
    var seen = {};
    doc.workers.forEach(function (w) {
      var pid = String(w.pid);
      seen[pid] = true;
      var tr = row(workers, "data-pid", pid, ["rss", "cpu", "threads", "up", "chart:rss", "chart:cpu"]);
      setText(tr, "rss", w.process.rss_mb + " MB");
      setText(tr, "cpu", w.process.cpu_percent + "%");
      setText(tr, "threads", w.process.threads);
      setText(tr, "up", Math.round(w.process.uptime_seconds) + " s");
      draw(tr.querySelector("[data-chart=rss]"), remember("rss:" + pid, w.process.rss_mb), "Memory of worker " + pid);
      draw(tr.querySelector("[data-chart=cpu]"), remember("cpu:" + pid, w.process.cpu_percent), "CPU of worker " + pid);
    });
    Array.prototype.forEach.call(workers.querySelectorAll("tr[data-pid]"), function (tr) {
      if (!seen[tr.getAttribute("data-pid")]) tr.remove();
    });

    var system = document.querySelector("[data-ops-system]");
    var s = doc.system;
    setText(system, "cpu", s.cpu_percent + "% of " + s.cpu_count + " cores");
    setText(system, "load", s.load_average.join(", "));
    setText(system, "memory", s.memory_available_mb + " MB free of " + s.memory_total_mb + " MB");
  }

  document.addEventListener("DOMContentLoaded", function () {
    var source = document.querySelector("[data-ops]");
    if (!source) return;
    var previous = null;
    function poll() {
      fetch(source.getAttribute("data-ops"), { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.json(); })
        .then(function (doc) { update(doc, previous); previous = doc; })
        .catch(function () { /* keep the last figures; try again on the next tick */ })
        .then(function () { window.setTimeout(poll, 2000); });
    }
    poll();
  });
})();
