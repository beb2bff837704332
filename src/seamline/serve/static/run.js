// Run page: stage strip, each stage's intermediates, handoff checks and adapters with numbers,
// parameters (editable: a change re-runs from that stage), QA, the before/after slider.
"use strict";
const RUN_ID = decodeURIComponent(location.pathname.split("/")[2]);
const $ = (s) => document.querySelector(s);
const fileUrl = (name) => `/v1/runs/${encodeURIComponent(RUN_ID)}/files/${name}`;
let RUN = null;
function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
}
const fmt = (v) => typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(4))
  : (v == null ? "" : (typeof v === "object" ? JSON.stringify(v) : String(v)));

function flatten(obj, prefix = "", out = {}) {
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? prefix + "." + k : k;
    if (v && typeof v === "object" && !Array.isArray(v)) flatten(v, key, out);
    else out[key] = v;
  }
  return out;
}
function kvTable(obj) {
  const t = el("table", {}, el("tr", {}, el("th", {text: "key"}), el("th", {text: "value"})));
  for (const [k, v] of Object.entries(flatten(obj))) {
    t.append(el("tr", {}, el("td", {text: k}), el("td", {text: fmt(v)})));
  }
  return t;
}
function handoffTable(stage) {
  const t = el("table", {}, el("tr", {}, ...["input", "from", "check", "expected", "found", "ok",
    "adapter: before → after"].map((h) => el("th", {text: h}))));
  for (const h of stage.handoffs || []) {
    const adapters = {};
    for (const a of h.adapters || []) adapters[a.stat] = a;
    const checks = h.checks && h.checks.length ? h.checks : [{stat: "(no checks)", ok: true}];
    for (const c of checks) {
      const a = adapters[c.stat];
      t.append(el("tr", {}, el("td", {text: h.to}), el("td", {text: h.from}),
        el("td", {text: c.stat}), el("td", {text: fmt(c.expected)}), el("td", {text: fmt(c.found)}),
        el("td", {class: c.ok ? "status-ok" : (c.severity === "warn" ? "warn" : "bad"),
                  text: c.ok ? "ok" : (c.severity || "fail")}),
        el("td", {text: a ? `${a.adapter}: ${fmt(a.before)} → ${fmt(a.after)}` : ""})));
    }
  }
  return t;
}

function selectStage(i) {
  const s = RUN.stages[i];
  document.querySelectorAll(".stage").forEach((e, j) => e.classList.toggle("sel", i === j));
  $("#stage-panel").hidden = false;
  $("#stage-title").textContent = `${i + 1}. ${s.name} (${s.stage})` + (s.cached ? " · cached" : "");
  const prev = $("#stage-previews");
  prev.replaceChildren();
  for (const [port, files] of Object.entries(s.previews || {})) {
    for (const f of files) {
      prev.append(el("figure", {}, el("img", {src: fileUrl(f), alt: `${s.name}.${port}`}),
        el("figcaption", {text: `${port} · ${f}`})));
    }
  }
  for (const port of s.mask_ports || []) {
    prev.append(el("div", {}, el("button", {type: "button", class: "primary",
      id: `edit-${s.name}`, "data-stage": s.name, text: `edit ${port}`})));
  }
  prev.querySelectorAll("button[data-stage]").forEach((b) => b.addEventListener("click",
    () => window.openEditor(s)));
  $("#stage-handoffs").replaceChildren(handoffTable(s));
  const form = $("#params-form");
  form.replaceChildren();
  for (const p of s.editable_params || []) {
    const inp = el("input", {name: p.name, value: p.value == null ? "" : JSON.stringify(p.value)
      .replace(/^"(.*)"$/, "$1")});
    form.append(el("div", {class: "field"}, el("label", {text: p.name}), inp,
      el("span", {}, el("span", {class: "type", text: p.type}), " ",
        el("span", {class: "err", "data-err": `${s.name}.${p.name}`}))));
  }
  if ((s.editable_params || []).length) {
    form.append(el("button", {type: "submit", class: "primary", text: "re-run with these parameters"}));
  }
  form.onsubmit = (ev) => { ev.preventDefault(); rerunParams(s); };
  $("#stage-report").replaceChildren(el("h2", {text: "stage report"}), kvTable(s.report));
}

function parseValue(text) {
  try { return JSON.parse(text); } catch (e) { return text; }
}
async function rerunParams(s) {
  const params = {};
  for (const p of s.editable_params) {
    const raw = $("#params-form").elements[p.name].value;
    const v = raw === "" ? null : parseValue(raw);
    if (JSON.stringify(v) !== JSON.stringify(p.value)) params[`${s.name}.${p.name}`] = v;
  }
  document.querySelectorAll("[data-err]").forEach((e) => { e.textContent = ""; });
  const r = await fetch(`/v1/runs/${encodeURIComponent(RUN_ID)}/rerun`, {method: "POST",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify({params})});
  const body = await r.json();
  if (!r.ok) {
    const slot = document.querySelector(`[data-err="${body.field}"]`);
    if (slot) slot.textContent = body.error; else alert(body.error);
    return;
  }
  await window.followChild(body);
}

window.followChild = async function (job) {
  $("#ab").hidden = false;
  $("#ab-title").textContent = `${RUN_ID} vs ${job.run_id} (running…)`;
  let st = job;
  while (st.status === "queued" || st.status === "running") {
    await new Promise((res) => setTimeout(res, 300));
    st = await (await fetch(`/v1/jobs/${encodeURIComponent(job.job_id)}`)).json();
    $("#ab-title").textContent = `${RUN_ID} vs ${job.run_id} (${st.status} ${st.progress || ""})`;
  }
  const link = el("a", {href: `/runs/${encodeURIComponent(job.run_id)}`, id: "child-link",
    text: job.run_id});
  $("#ab-title").replaceChildren(`${RUN_ID} vs `, link, ` (${st.status})`);
  if (st.status === "ok") {
    $("#ab-frame").src = `/runs/${encodeURIComponent(RUN_ID)}/diff/${encodeURIComponent(job.run_id)}`;
  } else {
    $("#ab-title").append(el("span", {class: "bad", text: " " + (st.error || "")}));
  }
  return st;
};

function slider(before, after) {
  $("#slider-panel").hidden = false;
  $("#before-img").src = before;
  $("#after-img").src = after;
  const clip = $("#after-clip");
  const set = () => {
    const w = $("#before-img").clientWidth;
    clip.style.width = ($("#slider-pos").value / 100 * w) + "px";
    $("#after-img").style.width = w + "px";
  };
  $("#slider-pos").addEventListener("input", set);
  $("#before-img").addEventListener("load", set);
  window.addEventListener("resize", set);
}

async function init() {
  const r = await fetch(`/v1/runs/${encodeURIComponent(RUN_ID)}`);
  RUN = await r.json();
  if (!r.ok) { $("#title").textContent = RUN.error; return; }
  window.RUN = RUN;
  $("#title").textContent = `${RUN.pipeline || "run"} · ${RUN.id}`;
  $("#status").className = "status-" + RUN.status;
  $("#status").textContent = RUN.status + (RUN.error ? ": " + RUN.error : "");
  const links = $("#links");
  if (RUN.manifest && RUN.manifest.status) links.append(el("a", {href: `/runs/${encodeURIComponent(RUN_ID)}/report`, text: "report"}), " ");
  if (RUN.parent) links.append(el("a", {href: `/runs/${encodeURIComponent(RUN.parent)}`, text: "parent"}), " ",
    el("a", {href: `/runs/${encodeURIComponent(RUN.parent)}/diff/${encodeURIComponent(RUN_ID)}`, text: "A/B with parent"}), " ");
  for (const c of RUN.children || []) links.append(el("a", {href: `/runs/${encodeURIComponent(c)}`, text: "child " + c}), " ");
  const strip = $("#strip");
  RUN.stages.forEach((s, i) => {
    const first = Object.values(s.previews || {}).flat()[0];
    const card = el("div", {class: "stage", id: `stage-${s.name}`},
      first ? el("img", {src: fileUrl(first), alt: s.name}) : null,
      el("div", {class: "name", text: `${i + 1}. ${s.name}`}),
      el("div", {class: "meta", text: `${s.stage} · ${fmt(s.seconds)} s${s.cached ? " · cached" : ""}`}),
      el("div", {class: (s.warnings || []).length ? "meta warn" : "meta",
                 text: `${(s.warnings || []).length} warnings · ${(s.handoffs || []).reduce(
                   (n, h) => n + (h.adapters || []).length, 0)} adapters`}));
    card.addEventListener("click", () => selectStage(i));
    strip.append(card);
  });
  if (RUN.stages.length) selectStage(0);
  const qa = (RUN.manifest || {}).qa || {};
  $("#qa").replaceChildren(Object.keys(qa).length ? kvTable(qa) : el("p", {class: "muted", text: "no QA"}));
  const warns = (RUN.manifest || {}).warnings || [];
  $("#warnings").replaceChildren(warns.length ? el("ul", {}, ...warns.map((w) => el("li", {text: w})))
    : el("p", {class: "muted", text: "none"}));
  const input = (RUN.inputs || []).find((n) => n.startsWith("image."));
  if (input && RUN.output_file) slider(fileUrl(input), fileUrl(RUN.output_file));
  document.body.dataset.ready = "1";
}
init();
