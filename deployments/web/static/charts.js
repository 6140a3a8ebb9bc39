/* Small hand-written SVG charts for the dashboards: lines, a forecast band, bars, a piano
 * roll. No dependencies; every chart is an <svg role="img"> with a text summary. */
(function () {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#4e9bff", "#ff6b6b", "#2bd4a4", "#f5c04a", "#b58cff", "#ff9f43", "#5ce1e6"];

  function svg(tag, attrs, parent) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (parent) parent.appendChild(node);
    return node;
  }

  function frame(container, label, width, height) {
    container.textContent = "";
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
    svg("title", {}, root).textContent = label;
    container.appendChild(root);
    return root;
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function fmt(v) {
    if (Math.abs(v) >= 1000) return (v / 1000).toFixed(v >= 10000 ? 0 : 1) + "k";
    return Number.isInteger(v) ? String(v) : v.toFixed(1);
  }

  /* Axes for x in [0, n) over dates, y in [0, ymax]; returns the scales. */
  function axes(root, dates, ymin, ymax, box) {
    const { left, right, top, bottom, width, height } = box;
    const x = (i) => left + (dates.length > 1 ? (i / (dates.length - 1)) * (width - left - right) : 0);
    const y = (v) => height - bottom - ((v - ymin) / (ymax - ymin || 1)) * (height - top - bottom);
    for (let t = 0; t <= 4; t++) {
      const v = ymin + ((ymax - ymin) * t) / 4;
      svg("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), stroke: "#2c3140" }, root);
      svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, root).textContent = fmt(v);
    }
    const ticks = Math.min(6, dates.length);
    for (let t = 0; t < ticks; t++) {
      const i = Math.round((t * (dates.length - 1)) / Math.max(1, ticks - 1));
      svg("text", { x: x(i), y: height - bottom + 16, "text-anchor": "middle" }, root).textContent =
        String(dates[i]).slice(5, 10);
    }
    return { x, y };
  }

  function legend(root, names, box, colors) {
    let x = box.left;
    names.forEach((name, k) => {
      const fill = (colors || COLORS)[k % (colors || COLORS).length];
      svg("rect", { x, y: 6, width: 10, height: 10, rx: 2, fill }, root);
      const text = svg("text", { x: x + 14, y: 15 }, root);
      text.textContent = name;
      x += 22 + name.length * 6.5;
    });
  }

  function path(points) {
    return points.map(([px, py], i) => `${i ? "L" : "M"}${px.toFixed(1)},${py.toFixed(1)}`).join("");
  }

  /* series: [{name, ds: [dates], y: [numbers]}] on one shared date axis. */
  function lines(container, series, label) {
    const box = { left: 44, right: 26, top: 26, bottom: 26, width: 640, height: 240 };
    const root = frame(container, label, box.width, box.height);
    if (!series.length) { container.textContent = "No data."; return; }
    const dates = series[0].ds;
    const ymax = niceMax(Math.max(...series.flatMap((s) => s.y)));
    const { x, y } = axes(root, dates, 0, ymax, box);
    series.forEach((s, k) => {
      svg("path", { d: path(s.y.map((v, i) => [x(i), y(v)])), fill: "none",
        stroke: COLORS[k % COLORS.length], "stroke-width": 1.8 }, root);
    });
    legend(root, series.map((s) => s.name), box);
  }

  /* history {ds, y} then points [{ds, yhat, yhat_lower, yhat_upper, seasonal_naive}]. */
  function forecast(container, history, points, label) {
    const box = { left: 44, right: 26, top: 26, bottom: 26, width: 640, height: 240 };
    const root = frame(container, label, box.width, box.height);
    const hist = history.y.slice(-42);
    const dates = history.ds.slice(-42).concat(points.map((p) => p.ds));
    const values = hist.concat(points.flatMap((p) => [p.yhat_upper, p.yhat_lower]));
    const ymin = Math.min(0, ...values);
    const { x, y } = axes(root, dates, ymin, niceMax(Math.max(...values)), box);
    const n = hist.length;
    const upper = points.map((p, i) => [x(n + i), y(p.yhat_upper)]);
    const lower = points.map((p, i) => [x(n + i), y(p.yhat_lower)]).reverse();
    svg("path", { d: path(upper.concat(lower)) + "Z", fill: "rgba(78,155,255,.22)", stroke: "none",
      class: "band" }, root);
    svg("path", { d: path(hist.map((v, i) => [x(i), y(v)])), fill: "none", stroke: COLORS[3],
      "stroke-width": 1.8 }, root);
    svg("path", { d: path(points.map((p, i) => [x(n + i), y(p.seasonal_naive)])), fill: "none",
      stroke: "#8a90a0", "stroke-dasharray": "4 3", "stroke-width": 1.2 }, root);
    svg("path", { d: path([[x(n - 1), y(hist[n - 1])]].concat(points.map((p, i) => [x(n + i), y(p.yhat)]))),
      fill: "none", stroke: COLORS[0], "stroke-width": 2 }, root);
    legend(root, ["history", "forecast (band: interval)", "seasonal naive"], box,
      [COLORS[3], COLORS[0], "#8a90a0"]);
  }

  /* rows: [{label, value, color?}] as horizontal bars. */
  function bars(container, rows, label, max) {
    const height = 22 * rows.length + 10;
    const box = { width: 640, height };
    const root = frame(container, label, box.width, Math.max(height, 30));
    const top = max || niceMax(Math.max(...rows.map((r) => r.value), 0));
    rows.forEach((r, i) => {
      const yy = 5 + i * 22;
      svg("text", { x: 150, y: yy + 13, "text-anchor": "end" }, root).textContent = r.label;
      svg("rect", { x: 158, y: yy, height: 16, rx: 3, width: Math.max(1, (r.value / top) * 420),
        fill: r.color || COLORS[i % COLORS.length] }, root);
      svg("text", { x: 164 + (r.value / top) * 420, y: yy + 13 }, root).textContent = fmt(r.value);
    });
  }

  /* notes: [{pitch, start, duration}] in 16th steps; primer steps drawn dimmer. */
  function pianoRoll(node, notes, steps, primerSteps) {
    node.textContent = "";
    const width = 640, height = 160;
    node.setAttribute("viewBox", `0 0 ${width} ${height}`);
    if (!notes.length) return;
    const lo = Math.min(...notes.map((n) => n.pitch)) - 1;
    const hi = Math.max(...notes.map((n) => n.pitch)) + 1;
    const total = Math.max(steps, ...notes.map((n) => n.start + n.duration));
    const sx = width / total, sy = height / (hi - lo + 1);
    if (primerSteps) svg("rect", { x: 0, y: 0, width: primerSteps * sx, height, fill: "#1d2230" }, node);
    notes.forEach((n) => {
      svg("rect", { x: n.start * sx, y: (hi - n.pitch) * sy, width: Math.max(2, n.duration * sx - 1),
        height: Math.max(2, sy - 1), rx: 2, fill: n.start < primerSteps ? "#8a90a0" : COLORS[0] }, node);
    });
  }

  window.Charts = { lines, forecast, bars, pianoRoll, COLORS };
})();
