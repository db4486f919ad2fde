"""The HTML report's inline style and script (their hashes go into its security policy)."""

CSS = """
*{box-sizing:border-box}[hidden]{display:none!important}
body{margin:0;background:#f5f6f8;color:#1f2328;font:14px/1.45 system-ui,sans-serif}
main{max-width:1280px;margin:0 auto;padding:20px 24px 40px}h1{font-size:22px;margin:0 0 2px}
h2{font-size:16px;margin:0}h3{font-size:14px;margin:0}section.block{margin-top:18px}
code{font:12.5px ui-monospace,monospace;background:#eef0f3;padding:1px 5px;border-radius:4px}
.muted,.facts dt,.meta{color:#59636e}.facts dd{margin:0}.block>h2{margin-bottom:8px}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:10px 0 0}
.card,.turn,table{background:#fff;border:1px solid #dde1e6;border-radius:10px}
table{border-collapse:collapse;width:100%;overflow:hidden;font-variant-numeric:tabular-nums}
th,td{padding:7px 12px;text-align:right;border-bottom:1px solid #eceef1;white-space:nowrap}
thead th{background:#f0f2f5;font-size:12px;font-weight:600;color:#59636e}
th:first-child,td:first-child{text-align:left}tbody tr:last-child>*{border-bottom:0}
.bad{color:#b42318;font-weight:600}.good{color:#067647;font-weight:600}td.bad{background:#fef3f2}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(290px,1fr));gap:12px}
.charts figure{margin:0;padding:10px 12px 6px}.charts figcaption{font-weight:600;font-size:13px}
svg{display:block;max-width:100%;height:auto;font-size:11px;font-variant-numeric:tabular-nums}
svg .label,svg .value{fill:#1f2328}svg .tick,svg .na,svg .unit{fill:#59636e}
svg .axis{stroke:#aab2bd}
.swatch{display:inline-block;width:10px;height:10px;border-radius:3px;margin-right:6px}
.m0{fill:#4e79a7;background:#4e79a7}.m1{fill:#f28e2b;background:#f28e2b}
.m2{fill:#76b7b2;background:#76b7b2}.m3{fill:#b07aa1;background:#b07aa1}
.m4{fill:#edc948;background:#edc948}.m5{fill:#9c755f;background:#9c755f}
.m6{fill:#ff9da7;background:#ff9da7}.m7{fill:#8c8c8c;background:#8c8c8c}
.turn{margin-top:14px;padding:14px 16px}.turn>h2{display:flex;gap:10px;align-items:baseline}
.pinned{font-weight:400;color:#59636e}.user{margin:10px 0;padding:10px 12px;background:#eef4fb;
border-radius:8px}.who{font-size:11px;font-weight:700;letter-spacing:.05em;color:#3b6ea5}
.user p,.text{margin:2px 0 0;white-space:pre-wrap;overflow-wrap:anywhere}
.thumbs{display:flex;gap:8px;margin-top:8px}
.thumbs img{height:72px;border-radius:6px;border:1px solid #c9d3df}
.stepper{display:flex;flex-wrap:wrap;align-items:center;gap:8px;margin:0 0 10px}
[data-role=focus-label]{min-width:190px;font-weight:600}.tabs{display:flex;gap:4px;flex:1}
button{font:inherit;font-size:13px;padding:3px 10px;border:1px solid #c4cad2;border-radius:6px;
background:#fff;color:#1f2328;cursor:pointer}button:disabled{opacity:.4;cursor:default}
button:hover:not(:disabled){background:#f0f2f5}.tabs button{border-radius:999px;font-size:12px}
button:focus-visible{outline:2px solid #2f6feb;outline-offset:1px}
.tabs button[aria-pressed=true]{background:#1f2328;border-color:#1f2328;color:#fff}
.answers{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:10px}
.turn[data-view=focus] .answers{grid-template-columns:1fr}
.turn[data-view=focus] .answer:not([data-focused=true]){display:none}
.answer{border:1px solid #dde1e6;border-radius:8px;padding:10px 12px;min-width:0}
.js [data-role=stepper]+.answers .answer[data-focused=true]{border-color:#2f6feb;
box-shadow:0 0 0 1px #2f6feb}
.answer[data-status=failed],.answer[data-status=error]{border-left:4px solid #b42318}
.answer>header{display:flex;justify-content:space-between;align-items:center;gap:8px}
.badge{font-size:12px;padding:1px 8px;border-radius:999px;background:#eef0f3;white-space:nowrap}
.badge.bad{background:#fee4e2}.badge.good{background:#dcfae6}
.meta{font-size:12px;margin:4px 0 6px;font-variant-numeric:tabular-nums}
.meta span{white-space:nowrap}
.checks{list-style:none;margin:8px 0 0;padding:8px 0 0;border-top:1px dashed #dde1e6}
.checks li{font-size:12.5px;font-weight:400}.checks li.bad{font-weight:600;background:#fef3f2;
border-radius:4px;padding:0 4px}.checks .good b{color:#067647}
.error{margin:6px 0 0;padding:6px 10px;background:#fef3f2;border:1px solid #fda29b;
border-radius:6px;color:#912018}
"""

SCRIPT = """
document.documentElement.classList.add("js");
document.querySelectorAll("[data-role=stepper]").forEach(function (bar) {
  var turn = bar.closest("section.turn"), answers = turn.querySelectorAll("article.answer");
  var tabs = bar.querySelectorAll("[data-role=tab]"), view = bar.querySelector("[data-role=view]");
  var prev = bar.querySelector("[data-role=prev]"), next = bar.querySelector("[data-role=next]");
  var label = bar.querySelector("[data-role=focus-label]"), current = 0;
  function show(k) {
    current = Math.max(0, Math.min(answers.length - 1, k));
    answers.forEach(function (a, i) { a.dataset.focused = String(i === current); });
    tabs.forEach(function (t, i) { t.setAttribute("aria-pressed", String(i === current)); });
    label.textContent = "Answer " + (current + 1) + " of " + answers.length + ": " +
      answers[current].dataset.model;
    turn.dataset.focus = String(current);
    prev.disabled = current === 0;
    next.disabled = current === answers.length - 1;
  }
  prev.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });
  tabs.forEach(function (t, i) { t.addEventListener("click", function () { show(i); }); });
  view.addEventListener("click", function () {
    var one = turn.dataset.view !== "focus";
    turn.dataset.view = one ? "focus" : "grid";
    view.setAttribute("aria-pressed", String(one));
    view.textContent = one ? "Show all side by side" : "Show one at a time";
  });
  bar.addEventListener("keydown", function (event) {
    var step = {ArrowLeft: -1, ArrowRight: 1}[event.key];
    if (step) { event.preventDefault(); show(current + step); }
  });
  bar.hidden = false;
});
"""
