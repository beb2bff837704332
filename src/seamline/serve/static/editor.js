// Mask editor: brush and eraser over the image (size, zoom, pan, undo), grow/shrink through the
// server's mask functions, then "re-run from here": a child run from the next stage with this
// mask (earlier stages come from the parent's cache) and the A/B view with the parent.
// The mask lives in an offscreen canvas at image resolution: white = edit, black = keep.
"use strict";
(function () {
  const $ = (s) => document.querySelector(s);
  const view = $("#view"), wrap = $("#canvas-wrap"), vctx = view.getContext("2d");
  const mask = document.createElement("canvas"), mctx = mask.getContext("2d");
  const tint = document.createElement("canvas"), tctx = tint.getContext("2d");
  const base = new Image();
  let stage = null, scale = 1, ox = 0, oy = 0, undo = [], drag = null;
  const fileUrl = (n) => `/v1/runs/${encodeURIComponent(window.RUN.id)}/files/${n}`;
  const tool = () => document.querySelector("input[name=tool]:checked").value;
  const size = () => Number($("#brush-size").value);
  const msg = (t) => { $("#editor-msg").textContent = t; };

  function loadImage(img, src) {
    return new Promise((res, rej) => { img.onload = () => res(img); img.onerror = rej; img.src = src; });
  }
  function retint() {  // red overlay with the mask's values as opacity
    const m = mctx.getImageData(0, 0, mask.width, mask.height);
    const t = tctx.createImageData(mask.width, mask.height);
    for (let i = 0; i < m.data.length; i += 4) {
      t.data[i] = 255; t.data[i + 1] = 40; t.data[i + 2] = 40; t.data[i + 3] = m.data[i];
    }
    tctx.putImageData(t, 0, 0);
  }
  function draw() {
    view.width = wrap.clientWidth; view.height = wrap.clientHeight;
    vctx.setTransform(1, 0, 0, 1, 0, 0);
    vctx.clearRect(0, 0, view.width, view.height);
    vctx.setTransform(scale, 0, 0, scale, ox, oy);
    vctx.imageSmoothingEnabled = scale < 1;
    if (base.complete && base.naturalWidth) vctx.drawImage(base, 0, 0);
    vctx.globalAlpha = 0.55;
    vctx.drawImage(tint, 0, 0);
    vctx.globalAlpha = 1;
  }
  function fit() {
    scale = Math.min(wrap.clientWidth / mask.width, wrap.clientHeight / mask.height);
    ox = (wrap.clientWidth - mask.width * scale) / 2;
    oy = (wrap.clientHeight - mask.height * scale) / 2;
    draw();
  }
  function zoom(f, cx = wrap.clientWidth / 2, cy = wrap.clientHeight / 2) {
    ox = cx - (cx - ox) * f; oy = cy - (cy - oy) * f; scale *= f; draw();
  }
  function toImage(ev) {
    const r = view.getBoundingClientRect();
    return [(ev.clientX - r.left - ox) / scale, (ev.clientY - r.top - oy) / scale];
  }
  function snapshot() {
    undo.push(mctx.getImageData(0, 0, mask.width, mask.height));
    if (undo.length > 30) undo.shift();
  }
  function stroke(a, b) {
    for (const [ctx, colour] of [[mctx, tool() === "eraser" ? "#000" : "#fff"]]) {
      ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.lineWidth = size();
      ctx.strokeStyle = colour; ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]);
      ctx.stroke();
    }
  }
  view.addEventListener("pointerdown", (ev) => {
    view.setPointerCapture(ev.pointerId);
    if (tool() === "pan" || ev.button !== 0) {
      drag = {pan: true, x: ev.clientX, y: ev.clientY, ox, oy};
      return;
    }
    snapshot();
    const p = toImage(ev);
    drag = {pan: false, last: p};
    stroke(p, p); retint(); draw();
  });
  view.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    if (drag.pan) { ox = drag.ox + ev.clientX - drag.x; oy = drag.oy + ev.clientY - drag.y; draw(); return; }
    const p = toImage(ev);
    stroke(drag.last, p); drag.last = p; retint(); draw();
  });
  const end = () => { drag = null; };
  view.addEventListener("pointerup", end);
  view.addEventListener("pointercancel", end);
  view.addEventListener("contextmenu", (ev) => ev.preventDefault());
  view.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const r = view.getBoundingClientRect();
    zoom(ev.deltaY < 0 ? 1.15 : 1 / 1.15, ev.clientX - r.left, ev.clientY - r.top);
  }, {passive: false});
  $("#brush-size").addEventListener("input", () => { $("#brush-size-v").textContent = size(); });
  $("#zoom-in").addEventListener("click", () => zoom(1.25));
  $("#zoom-out").addEventListener("click", () => zoom(1 / 1.25));
  $("#zoom-fit").addEventListener("click", fit);
  $("#undo").addEventListener("click", () => {
    const d = undo.pop();
    if (d) { mctx.putImageData(d, 0, 0); retint(); draw(); }
  });
  async function morph(op) {
    const px = Number($("#morph-px").value) || 1;
    const blob = await new Promise((res) => mask.toBlob(res, "image/png"));
    const fd = new FormData();
    fd.append("mask", blob, "mask.png");
    const r = await fetch(`/v1/masks/${op}?px=${px}`, {method: "POST", body: fd});
    if (!r.ok) { msg((await r.json()).error); return; }
    const img = await createImageBitmap(await r.blob());
    snapshot();
    mctx.drawImage(img, 0, 0);
    retint(); draw(); msg(`${op} ${px} px`);
  }
  $("#grow").addEventListener("click", () => morph("grow"));
  $("#shrink").addEventListener("click", () => morph("shrink"));
  $("#rerun").addEventListener("click", async () => {
    $("#rerun").disabled = true;
    msg("starting the child run…");
    const r = await fetch(`/v1/runs/${encodeURIComponent(window.RUN.id)}/rerun`, {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({mask_stage: stage.name, mask_png: mask.toDataURL("image/png")})});
    const body = await r.json();
    if (!r.ok) { msg(body.error); $("#rerun").disabled = false; return; }
    msg(`child run ${body.run_id} from ${body.stages.find((s) => !s.done)?.name || "…"}`);
    const st = await window.followChild(body);
    msg(`child run ${body.run_id}: ${st.status}`);
    $("#rerun").disabled = false;
    document.body.dataset.child = body.run_id;
    document.body.dataset.childStatus = st.status;
  });

  window.openEditor = async function (s) {
    stage = s;
    undo = [];
    $("#editor").classList.add("open");
    $("#editor-stage").textContent = `${s.name}.mask`;
    const run = window.RUN;
    const input = (run.inputs || []).find((n) => n.startsWith("image."));
    const anyImage = run.stages.flatMap((x) => (x.previews.image || []))[0];
    const m = await loadImage(new Image(), fileUrl(s.previews.mask[0]));
    mask.width = tint.width = m.naturalWidth; mask.height = tint.height = m.naturalHeight;
    mctx.fillStyle = "#000"; mctx.fillRect(0, 0, mask.width, mask.height);
    mctx.drawImage(m, 0, 0);
    retint();
    if (input || anyImage) await loadImage(base, fileUrl(input || anyImage));
    fit();
    $("#editor").scrollIntoView();
    document.body.dataset.editor = s.name;
  };
  window.addEventListener("resize", () => { if (stage) draw(); });
})();
