// Runs list: fetch /v1/runs with the filters, render a table. No framework, no network beyond
// this server.
"use strict";
const $ = (s) => document.querySelector(s);
function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}
async function load() {
  const q = new URLSearchParams();
  if ($("#f-pipeline").value) q.set("pipeline", $("#f-pipeline").value);
  if ($("#f-status").value) q.set("status", $("#f-status").value);
  if ($("#f-qa").checked) q.set("qa_warnings", "true");
  const runs = await (await fetch("/v1/runs?" + q)).json();
  const body = $("#runs tbody");
  body.replaceChildren();
  for (const r of runs) {
    body.append(el("tr", {},
      el("td", {}, el("a", {href: "/runs/" + encodeURIComponent(r.id), text: r.id})),
      el("td", {text: r.pipeline || ""}),
      el("td", {class: "status-" + r.status, text: r.status, title: r.error || ""}),
      el("td", {text: (r.created || "").replace("T", " ").slice(0, 19)}),
      el("td", {text: r.seconds == null ? "" : r.seconds.toFixed(2)}),
      el("td", {text: String(r.warnings)}),
      el("td", {class: r.qa_warnings ? "warn" : "", text: String(r.qa_warnings)}),
      el("td", {}, r.parent ? el("a", {href: "/runs/" + encodeURIComponent(r.parent),
                                       text: r.parent}) : "")));
  }
  $("#empty").hidden = runs.length > 0;
}
async function init() {
  const pipes = await (await fetch("/v1/pipelines")).json();
  for (const p of pipes) $("#f-pipeline").append(el("option", {text: p.name}));
  for (const id of ["#f-pipeline", "#f-status", "#f-qa"]) $(id).addEventListener("change", load);
  $("#refresh").addEventListener("click", load);
  const h = await (await fetch("/v1/health")).json();
  $("#health").textContent = `v${h.version} · ${h.workers} workers · ${h.running} running · ` +
    `${h.queued} queued`;
  await load();
}
init();
