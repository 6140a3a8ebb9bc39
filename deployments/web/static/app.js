/* EntertainAI web app: plain JS, no framework. Pages embed their first data as JSON
 * (#page-data); every later call goes to this app's own /web/api routes, which add the
 * session's key on the server. The page never sees a key: only the CSRF token it sends back. */
(function () {
  "use strict";

  const $ = (sel, root) => (root || document).querySelector(sel);
  const csrf = ($('meta[name="csrf-token"]') || {}).content || "";
  const pageData = JSON.parse(($("#page-data") || {}).textContent || "{}");
  const canWrite = document.body.dataset.canWrite === "1";

  /* el("li", {class: "x", onclick: f}, [children or text]) without innerHTML. */
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of [].concat(children === undefined ? [] : children)) {
      if (c === null || c === undefined || c === false) continue;
      node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    }
    return node;
  }

  class ApiFailure extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(path, options) {
    const { method = "GET", body, params } = options || {};
    const query = params ? "?" + new URLSearchParams(
      Object.entries(params).filter(([, v]) => v !== "" && v !== null && v !== undefined)) : "";
    const init = { method, credentials: "same-origin", headers: { accept: "application/json" } };
    if (method !== "GET") {
      init.headers["content-type"] = "application/json";
      init.headers["x-csrf-token"] = csrf;
      init.body = JSON.stringify(body || {});
    }
    const response = await fetch(path + (query === "?" ? "" : query), init);
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      if (response.status === 401) { window.location.assign("/web/signin?next=" + encodeURIComponent(location.pathname)); }
      const detail = data && data.detail;
      throw new ApiFailure(response.status, typeof detail === "string" ? detail : (detail ? JSON.stringify(detail) : `HTTP ${response.status}`));
    }
    return data;
  }

  let toastTimer = null;
  function say(message, bad) {
    const box = $("#status");
    if (!box) return;
    box.textContent = message;
    box.classList.toggle("bad", !!bad);
    box.classList.add("show");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => box.classList.remove("show"), 4000);
  }

  function hue(text) {
    let h = 0;
    for (const ch of String(text)) h = (h * 31 + ch.charCodeAt(0)) % 360;
    return h;
  }

  function paintPosters(root) {
    for (const node of (root || document).querySelectorAll("[data-poster]")) {
      node.style.setProperty("--hue", hue(node.dataset.poster));
    }
  }

  /* Busy state for a form while its request runs. */
  async function busy(form, label, work) {
    const button = form.querySelector('button[type="submit"]');
    const text = button ? button.textContent : "";
    if (button) { button.disabled = true; button.textContent = label; }
    form.setAttribute("aria-busy", "true");
    try { return await work(); }
    catch (e) { say(e.message || String(e), true); return null; }
    finally {
      if (button) { button.disabled = false; button.textContent = text; }
      form.removeAttribute("aria-busy");
    }
  }

  function formValues(form, numeric) {
    const out = {};
    for (const [k, v] of new FormData(form).entries()) {
      if (v instanceof File) continue;
      out[k] = numeric.includes(k) ? Number(v) : v;
    }
    return out;
  }

  const b64url = (mime, b64) => `data:${mime};base64,${b64}`;

  // ------------------------------------------------------------------ cards (viewer)

  function card(item) {
    const href = "/web/items/" + encodeURIComponent(item.item_id);
    const meta = [
      item.kind ? el("span", { class: "badge" }, item.kind) : null,
      item.year ? el("span", {}, String(item.year)) : null,
      el("span", {}, (item.genres || []).join(" · ")),
    ];
    const actions = canWrite ? el("div", { class: "actions" }, [
      el("button", { type: "button", "data-action": "play", "data-item": item.item_id,
        "data-title": item.title, "aria-label": `Play ${item.title}` }, "▶ Play"),
      el("button", { type: "button", class: "ghost", "data-action": "dislike", "data-item": item.item_id,
        "data-title": item.title, "aria-label": `Not interested in ${item.title}` }, "Not interested"),
    ]) : null;
    const node = el("li", { class: "card", "data-item": item.item_id, "data-kind": item.kind || "" }, [
      el("a", { class: "poster", href, tabindex: "-1", "aria-hidden": "true", "data-poster": item.item_id },
        el("span", {}, item.title)),
      el("div", { class: "card-body" }, [
        el("h3", {}, el("a", { href }, item.title)),
        el("p", { class: "meta" }, meta),
        el("p", { class: "why" }, item.explanation || ""),
        actions,
      ]),
    ]);
    return node;
  }

  function fillCards(list, items, kind, max) {
    list.textContent = "";
    const shown = items.filter((i) => !kind || i.kind === kind).slice(0, max || 20);
    if (!shown.length) list.appendChild(el("li", { class: "empty" }, "Nothing here for this filter."));
    shown.forEach((i) => list.appendChild(card(i)));
    paintPosters(list);
  }

  async function sendEvent(button) {
    const type = button.dataset.action;
    const title = button.dataset.title;
    button.disabled = true;
    try {
      await api("/web/api/events", { method: "POST", body: { item_id: button.dataset.item, event_type: type } });
      say(type === "play" ? `Playing ${title}. Your rows are updated.` : `Noted: less like ${title}.`);
      if (pages[document.body.dataset.page] && pages[document.body.dataset.page].refresh) {
        await pages[document.body.dataset.page].refresh();
      }
    } catch (e) {
      say(e.message, true);
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button) sendEvent(button);
  });

  // ------------------------------------------------------------------ pages

  const home = {
    kind: "",
    data: pageData,
    init() {
      this.render();
      for (const radio of document.querySelectorAll('input[name="kind"]')) {
        radio.addEventListener("change", () => { this.kind = radio.value; this.render(); });
      }
      const form = $("#trending-form");
      form.addEventListener("change", async () => {
        try {
          this.data.trending = await api("/web/api/trending", { params: this.trendingParams() });
          this.renderTrending();
        } catch (e) { say(e.message, true); }
      });
      form.addEventListener("submit", (e) => e.preventDefault());
    },
    trendingParams() {
      return { window: $("#trending-window").value, genre: $("#trending-genre").value };
    },
    async refresh() {
      const fresh = await api("/web/api/home", { params: this.trendingParams() });
      Object.assign(this.data, fresh);
      this.render();
    },
    render() {
      const rows = $("#rows");
      rows.textContent = "";
      this.data.rows.forEach((row) => {
        const id = "row-" + row.id;
        const list = el("ul", { class: "cards", id: id + "-cards" });
        rows.appendChild(el("section", { class: "row", "aria-labelledby": id }, [
          el("h2", { id }, row.title), list]));
        fillCards(list, row.items, this.kind, 12);
      });
      const ref = $("#model-ref");
      if (ref) ref.textContent = "model " + (this.data.model || "?");
      this.renderTrending();
    },
    renderTrending() {
      $("#trending-title").textContent = this.data.trending.title || "Trending now";
      fillCards($("#trending-cards"), this.data.trending.items, this.kind, 12);
    },
  };

  const search = {
    init() { fillCards($("#results"), pageData.items || [], "", 48); },
  };

  const item = {
    init() { paintPosters(); fillCards($("#similar-cards"), pageData.similar || [], "", 12); },
  };

  // studio: gallery kept in sessionStorage (this tab's session)
  const GALLERY = "entertainai-gallery";
  function gallery() { try { return JSON.parse(sessionStorage.getItem(GALLERY) || "[]"); } catch (e) { return []; } }
  function addToGallery(entry) {
    const all = gallery();
    all.unshift(entry);
    while (all.length) {
      try { sessionStorage.setItem(GALLERY, JSON.stringify(all)); break; } catch (e) { all.pop(); }
    }
    renderGallery();
  }
  function renderGallery() {
    const list = $("#gallery");
    if (!list) return;
    list.textContent = "";
    const all = gallery();
    if (!all.length) list.appendChild(el("li", { class: "empty" }, "Nothing yet: generate a grid or a styled image."));
    all.forEach((g, n) => {
      const name = `entertainai-${g.what}-${g.params.seed ?? n}.png`;
      list.appendChild(el("li", {}, [
        el("img", { src: b64url("image/png", g.png), alt: `${g.what} ${g.summary}` }),
        el("div", {}, `${g.what} · ${g.summary}`),
        el("div", {}, g.model),
        el("a", { href: b64url("image/png", g.png), download: name, class: "button ghost",
          "aria-label": `Download ${g.what} ${g.summary} as PNG` }, "Download PNG"),
      ]));
    });
  }

  function moderationText(m) {
    if (!m) return "";
    return m.screened ? `passed moderation (${m.model})` : `not screened: ${m.why}`;
  }

  function downscale(file, size) {
    return new Promise((resolve, reject) => {
      const url = URL.createObjectURL(file);
      const img = new Image();
      img.onload = () => {
        const scale = Math.min(1, size / Math.max(img.width, img.height));
        const canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(img.width * scale));
        canvas.height = Math.max(1, Math.round(img.height * scale));
        canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(url);
        resolve(canvas.toDataURL("image/png").split(",")[1]);
      };
      img.onerror = () => { URL.revokeObjectURL(url); reject(new Error(`${file.name}: not an image`)); };
      img.src = url;
    });
  }

  const studio = {
    init() {
      renderGallery();
      $("#gallery-clear").addEventListener("click", () => { sessionStorage.removeItem(GALLERY); renderGallery(); });
      const imageForm = $("#image-form");
      imageForm.addEventListener("submit", (event) => {
        event.preventDefault();
        busy(imageForm, "Generating…", async () => {
          const params = formValues(imageForm, ["seed", "num", "scale"]);
          const out = await api("/web/api/generate/image", { method: "POST", body: params });
          const summary = `seed ${out.seed}, ${out.num} images, ×${out.scale}`;
          $("#image-out").src = b64url("image/png", out.png_base64);
          $("#image-out").alt = `Generated grid: ${summary}`;
          $("#image-caption").textContent = `${out.model} · ${summary} · ${out.elapsed_s.toFixed(2)} s · ${moderationText(out.moderation)}`;
          $("#image-result").hidden = false;
          addToGallery({ what: "grid", png: out.png_base64, params, summary, model: out.model });
          say("Grid generated.");
        });
      });
      const styleForm = $("#style-form");
      styleForm.addEventListener("submit", (event) => {
        event.preventDefault();
        busy(styleForm, "Styling…", async () => {
          const params = formValues(styleForm, ["steps", "size", "seed"]);
          const [content, style] = await Promise.all([
            downscale($("#style-content").files[0], 256), downscale($("#style-style").files[0], 256)]);
          const out = await api("/web/api/generate/style", { method: "POST", body: { ...params, content, style } });
          const summary = `${out.width}×${out.height}, ${out.steps_run} steps${out.stopped_early ? " (time limit)" : ""}`;
          $("#style-out").src = b64url("image/png", out.png_base64);
          $("#style-out").alt = `Styled image: ${summary}`;
          $("#style-caption").textContent = `${out.model} · ${summary} · ${out.elapsed_s.toFixed(1)} s · ${moderationText(out.moderation)}`;
          $("#style-result").hidden = false;
          addToGallery({ what: "style", png: out.png_base64, params, summary, model: out.model });
          say("Style transferred.");
        });
      });
    },
  };

  const music = {
    init() {
      const melodyForm = $("#melody-form");
      melodyForm.addEventListener("submit", (event) => {
        event.preventDefault();
        busy(melodyForm, "Composing…", async () => {
          const params = formValues(melodyForm, ["length_steps", "temperature", "tempo_bpm", "seed"]);
          const out = await api("/web/api/generate/melody", { method: "POST", body: params });
          $("#melody-audio").src = b64url("audio/wav", out.wav_base64);
          $("#melody-midi").href = b64url("audio/midi", out.midi_base64);
          $("#melody-midi").download = `melody-seed${params.seed}.mid`;
          $("#melody-wav").href = b64url("audio/wav", out.wav_base64);
          $("#melody-caption").textContent = `${out.model} · key ${out.key} · ${out.tempo_bpm} BPM · ${out.steps} steps (${out.primer_steps} primer) · ${out.notes.length} notes · ${out.elapsed_s.toFixed(2)} s`;
          window.Charts.pianoRoll($("#melody-roll"), out.notes, out.steps, out.primer_steps);
          $("#melody-result").hidden = false;
          say("Melody ready: press play.");
        });
      });
      const audioForm = $("#audio-form");
      audioForm.addEventListener("submit", (event) => {
        event.preventDefault();
        busy(audioForm, "Sampling…", async () => {
          const params = formValues(audioForm, ["seconds", "temperature", "seed"]);
          const out = await api("/web/api/generate/audio", { method: "POST", body: params });
          $("#audio-player").src = b64url("audio/wav", out.wav_base64);
          $("#audio-wav").href = b64url("audio/wav", out.wav_base64);
          $("#audio-caption").textContent = `${out.model} · ${params.seconds} s at ${out.sample_rate} Hz`;
          $("#audio-result").hidden = false;
          say("Audio ready: press play.");
        });
      });
    },
  };

  function missing(container, section) {
    container.textContent = "";
    container.appendChild(el("p", { class: "muted" }, `Not available: ${section.why}`));
  }

  const analyst = {
    async init() {
      try {
        const data = await api("/web/api/analyst");
        this.render(data);
      } catch (e) { say(e.message, true); }
      $("#analyst-loading").hidden = true;
    },
    render(data) {
      const kpis = $("#kpis");
      kpis.textContent = "";
      data.kpis.forEach((k) => kpis.appendChild(el("li", {}, [
        el("span", { class: typeof k.value === "string" ? "value text" : "value" }, k.value === null || k.value === undefined ? "–" :
          (typeof k.value === "number" ? k.value.toLocaleString("en") : k.value)),
        el("span", { class: "label" }, k.label)])));
      const h = data.history;
      const C = window.Charts;
      if (h.available) {
        C.lines($("#chart-events"), h.events.map((s) => ({ ...s, ds: s.ds.slice(-60), y: s.y.slice(-60) })), "Events per day by type");
        C.lines($("#chart-genres"), h.genres.map((s) => ({ ...s, ds: s.ds.slice(-60), y: s.y.slice(-60) })), "Events per day for the top genres");
      } else {
        for (const id of ["#chart-events", "#chart-genres", "#chart-forecast"]) $(id).textContent = "No dataset behind the web app.";
      }
      const s = data.sections;
      if (s.forecast && s.forecast.ok) {
        const f = s.forecast.data.forecasts[0];
        C.forecast($("#chart-forecast"), h.forecast_history, f.points, `Forecast of ${f.unique_id} per day`);
        const best = f.scores.find((x) => x.model === f.chosen) || {};
        $("#forecast-note").textContent = `Chosen by backtest: ${f.chosen} (sMAPE ${(best.smape ?? NaN).toFixed(3)}, interval coverage ${(best.coverage ?? NaN).toFixed(2)}); dashed: seasonal naive.`;
      } else if (s.forecast) missing($("#chart-forecast"), s.forecast);
      const trend = $("#trending-now");
      trend.textContent = "";
      for (const [w, label] of [["1h", "Last hour"], ["1d", "Today"], ["7d", "This week"]]) {
        const sec = s["trending_" + w];
        const list = el("ol", {}, sec && sec.ok ? sec.data.items.map((i) =>
          el("li", {}, el("a", { href: "/web/items/" + encodeURIComponent(i.item_id) }, i.title))) : []);
        trend.appendChild(el("div", {}, [el("h3", {}, label), sec && sec.ok ? list : el("p", { class: "muted" }, sec ? sec.why : "")]));
      }
      const segs = $("#segments");
      segs.textContent = "";
      if (s.segments.ok) {
        s.segments.data.segments.forEach((p) => segs.appendChild(el("li", {}, [
          el("strong", {}, p.name),
          el("div", {}, `${p.size} users · ${Number(p.mean_interactions || 0).toFixed(1)} interactions each`),
          el("div", { class: "muted" }, `top genres: ${(p.top_genres || []).map((g) => g.genre || g.name || g).join(", ")}`),
          el("div", { class: "muted" }, `device ${p.main_device || "?"} · peak ${p.peak_time || "?"}`),
        ])));
      } else segs.appendChild(el("li", { class: "muted" }, `Not available: ${s.segments.why}`));
      this.renderReviews(data.reviews, s.sentiment, s.emotion);
    },
    renderReviews(reviews, sentiment, emotion) {
      const table = $("#reviews");
      table.querySelectorAll("thead, tbody").forEach((n) => n.remove());
      table.appendChild(el("thead", {}, el("tr", {}, ["Date", "Title", "Rating", "Sentiment", "Emotions", "Review"].map(
        (t) => el("th", { scope: "col", class: t === "Rating" ? "num" : null }, t)))));
      const body = el("tbody");
      const sres = sentiment && sentiment.ok ? sentiment.data.results : [];
      const eres = emotion && emotion.ok ? emotion.data.results : [];
      const counts = {};
      reviews.forEach((r, i) => {
        const sr = sres[i] || {};
        const label = sr.label || "–";
        counts[label] = (counts[label] || 0) + 1;
        const cls = label === "positive" ? "pos" : label === "negative" ? "neg" : "neu";
        body.appendChild(el("tr", {}, [
          el("td", { class: "nowrap" }, (r.timestamp || "").slice(0, 10)),
          el("td", {}, el("a", { href: "/web/items/" + encodeURIComponent(r.item_id) }, r.title || r.item_id)),
          el("td", { class: "num" }, r.rating ?? "–"),
          el("td", { class: cls + " nowrap" }, sr.compound !== undefined && sr.compound !== null ? `${label} (${sr.compound.toFixed(2)})` : label),
          el("td", {}, eres[i] ? (eres[i].labels || []).join(", ") || "–" : "–"),
          el("td", {}, r.text),
        ]));
      });
      table.appendChild(body);
      const colors = { positive: "#2bb673", neutral: "#8a90a0", negative: "#ff4d4f" };
      const rows = Object.entries(counts).map(([label, value]) => ({ label, value, color: colors[label] }));
      if (rows.length) window.Charts.bars($("#chart-sentiment"), rows, "Sentiment of recent reviews");
      else $("#chart-sentiment").textContent = "No reviews in the dataset.";
      const notes = [sentiment && !sentiment.ok ? `sentiment: ${sentiment.why}` : sentiment && sentiment.ok ? `sentiment model: ${sentiment.data.model}` : "",
        emotion && !emotion.ok ? `emotion: ${emotion.why}` : ""].filter(Boolean);
      if (notes.length) $("#chart-sentiment").appendChild(el("p", { class: "muted small" }, notes.join(" · ")));
    },
  };

  const operator = {
    data: pageData,
    init() {
      this.render();
      this.timer = setInterval(() => this.refresh().catch(() => {}), 10000);
    },
    async refresh() {
      if ($("#confirm").open) return;
      this.data = await api("/web/api/operator");
      this.render();
    },
    confirm(text) {
      const dialog = $("#confirm");
      $("#confirm-text").textContent = text;
      dialog.returnValue = "";
      dialog.showModal();
      $("#confirm-cancel").focus();
      return new Promise((resolve) => {
        dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
      });
    },
    async act(path, body, text) {
      if (!(await this.confirm(text))) return;
      try {
        const out = await api(path, { method: "POST", body });
        this.data = out;
        this.render();
        say(out.done);
      } catch (e) { say(e.message, true); }
    },
    render() {
      const d = this.data;
      $("#ops-updated").textContent = "updated " + new Date().toLocaleTimeString("en-GB");
      const refused = $("#refused");
      refused.textContent = "";
      for (const [what, why] of Object.entries(d.refused || {})) {
        refused.appendChild(el("p", { class: "banner" }, [el("strong", {}, `Reload refused (${what}): `), why]));
      }
      const s = d.serving || {};
      const rows = ["model", "trending"].filter((r) => s[r]).map((r) => el("tr", {}, [
        el("th", { scope: "row" }, r), el("td", {}, s[r].name ? `${s[r].name}@${s[r].version}` : "part of the recommender"), el("td", {}, s[r].kind),
        el("td", { class: "num" }, s[r].items), el("td", { class: "num" }, s[r].users),
        el("td", { class: "num" }, s[r].metrics && s[r].metrics.ndcg !== undefined ? s[r].metrics.ndcg.toFixed(4) : "–"),
      ]));
      const serving = $("#serving");
      serving.textContent = "";
      serving.appendChild(el("table", { id: "serving-table" }, [
        el("thead", {}, el("tr", {}, ["Role", "Serving", "Kind", "Items", "Users", "ndcg"].map((t) => el("th", { scope: "col" }, t)))),
        el("tbody", {}, rows)]));
      const ready = d.ready || {};
      serving.appendChild(el("p", { class: "muted small" }, `readiness: ${ready.status || "?"}` +
        ((ready.missing || []).length ? ` · missing: ${ready.missing.map((m) => m.ref).join(", ")}` : "") +
        ` · replicas follow an alias within ${d.reload_interval_s} s`));
      this.renderRegistry(d.registry || []);
      this.renderTraffic(d.traffic);
      this.renderAlerts(d.alerts || []);
      this.renderReplicas(d.autoscaling || [], d.replicas || {});
    },
    renderRegistry(models) {
      const box = $("#registry");
      box.textContent = "";
      models.forEach((m) => {
        const prod = m.aliases.production;
        const head = el("h3", {}, [m.name,
          prod ? el("span", { class: "tag prod" }, `production → v${prod}`) : el("span", { class: "muted small" }, "no production alias")]);
        if (m.rollback_to) {
          head.appendChild(el("button", { type: "button", class: "ghost", "data-rollback": m.name,
            "aria-label": `Roll back ${m.name} production to version ${m.rollback_to}`,
            onclick: () => this.act("/web/api/operator/rollback", { name: m.name },
              `Roll back ${m.name}@production from v${prod} to v${m.rollback_to}?`) }, `Roll back to v${m.rollback_to}`));
        }
        const preferred = ["ndcg", "recall", "hit_rate", "map", "accuracy", "smape", "coverage"];
        const metricNames = [...new Set(m.versions.flatMap((v) => Object.keys(v.metrics)))].filter((k) => k !== "k")
          .sort((a, b) => (preferred.indexOf(a) + 1 || 99) - (preferred.indexOf(b) + 1 || 99)).slice(0, 4);
        const rows = m.versions.slice().reverse().map((v) => el("tr", {}, [
          el("td", {}, `v${v.version}`), el("td", {}, v.kind), el("td", {}, (v.created || "").slice(0, 19).replace("T", " ")),
          ...metricNames.map((k) => el("td", { class: "num" }, v.metrics[k] !== undefined ? Number(v.metrics[k]).toFixed(4) : "–")),
          el("td", {}, v.aliases.map((a) => el("span", { class: a === "production" ? "tag prod" : "tag" }, a))),
          el("td", {}, v.version === prod ? "" : el("button", { type: "button", "data-promote": `${m.name}@${v.version}`,
            "aria-label": `Promote ${m.name} version ${v.version} to production`,
            onclick: () => this.act("/web/api/operator/promote", { name: m.name, version: v.version },
              `Promote ${m.name} v${v.version} to production? It is checked first; replicas switch within ${this.data.reload_interval_s} s.`) }, "Promote")),
        ]));
        box.appendChild(el("div", { class: "model-block" }, [head, el("div", { class: "table-wrap" }, el("table", {}, [
          el("thead", {}, el("tr", {}, ["Version", "Kind", "Created", ...metricNames, "Aliases", ""].map((t) => el("th", { scope: "col" }, t)))),
          el("tbody", {}, rows)]))]));
      });
      if (!models.length) box.appendChild(el("p", { class: "muted" }, "The registry holds no models."));
    },
    renderTraffic(t) {
      const box = $("#traffic");
      box.textContent = "";
      if (!t) return;
      box.appendChild(el("p", {}, `${t.rate_per_s.toFixed(2)} requests/s over the last ${Math.round(t.window_s)} s · 5xx share ${(100 * t.error_share).toFixed(2)}%`));
      const ms = (v) => (v === null || v === undefined ? "–" : v.toFixed(v < 10 ? 2 : 0));
      box.appendChild(el("div", { class: "table-wrap" }, el("table", { id: "traffic-table" }, [
        el("thead", {}, el("tr", {}, ["Route", "Requests", "per s", "p50 ms", "p99 ms", "5xx"].map((x) => el("th", { scope: "col" }, x)))),
        el("tbody", {}, t.routes.slice(0, 12).map((r) => el("tr", {}, [
          el("td", {}, r.route), el("td", { class: "num" }, Math.round(r.requests)), el("td", { class: "num" }, r.rate_per_s.toFixed(2)),
          el("td", { class: "num" }, ms(r.p50_ms)), el("td", { class: "num" }, ms(r.p99_ms)), el("td", { class: "num" }, Math.round(r["5xx"])),
        ])))])));
    },
    renderAlerts(alerts) {
      const list = $("#alerts");
      list.textContent = "";
      alerts.forEach((a) => {
        const state = a.firing === true ? "firing" : a.firing === false ? "ok" : "unknown";
        list.appendChild(el("li", { "data-alert": a.alert, "data-state": state }, [
          el("span", { class: "dot " + state, "aria-hidden": "true" }),
          el("span", {}, [el("strong", {}, a.alert), ` — ${state === "firing" ? "FIRING" : state === "ok" ? "ok" : "not evaluated here"} (${a.severity || "?"})`]),
          el("span", { class: "value" }, a.value),
        ]));
      });
      list.appendChild(el("li", { class: "muted small note" }, "Evaluated on this replica's own metrics now, without the rules' for: durations."));
    },
    renderReplicas(settings, live) {
      const box = $("#replicas");
      box.textContent = "";
      const liveApp = live.available ? Object.values(live.applications)[0] || {} : {};
      box.appendChild(el("div", { class: "table-wrap" }, el("table", {}, [
        el("thead", {}, el("tr", {}, ["Deployment", "Running", "Replicas", "Target ongoing", "CPUs"].map((x) => el("th", { scope: "col" }, x)))),
        el("tbody", {}, settings.map((d) => {
          const now = liveApp[d.deployment];
          const running = now ? Object.entries(now.replicas).map(([k, v]) => `${v} ${k.toLowerCase()}`).join(", ") : "–";
          const range = d.num_replicas ? `${d.num_replicas} fixed` : `${d.min_replicas}–${d.max_replicas} autoscaled`;
          return el("tr", {}, [el("td", {}, d.deployment), el("td", {}, running), el("td", {}, range),
            el("td", { class: "num" }, d.target_ongoing_requests ?? "–"), el("td", { class: "num" }, d.num_cpus ?? "–")]);
        }))])));
      if (!live.available) box.appendChild(el("p", { class: "muted small" }, `Live replica counts: ${live.why}. Settings from serve_config.yaml.`));
    },
  };

  const pages = { home, search, item, studio, music, analyst, operator };
  const page = pages[document.body.dataset.page];
  if (page) page.init();
  window.EntertainAI = { pages, api };
})();
