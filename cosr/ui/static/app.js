// The debugger page: fetch JSON from the read-only API, draw two cytoscape graphs, a timeline and
// an inspector, and poll /api/version to follow a run that is still going.
const $ = (id) => document.getElementById(id);
const get = (path) => fetch(path).then((r) => r.json());
const esc = (s) => String(s ?? "").replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" }[c]));
let machine, skills, frames = [], rows = [], version = null;

// Labels are drawn at FONT px and each node sized to its label, so a graph drawn at zoom 1 reads like the page.
const FONT = 12;
const ruler = document.createElement("canvas").getContext("2d");
ruler.font = `${FONT}px system-ui, sans-serif`;
const lines = (node) => String(node.data("label")).split("\n");
const labelWidth = (node) => Math.max(...lines(node).map((l) => ruler.measureText(l).width));

function graphStyle(extra) {
  return [
    { selector: "node", style: { label: "data(label)", "font-size": FONT, "text-valign": "center", "text-wrap": "wrap",
      "line-height": 1.3, width: (n) => labelWidth(n) + 14, height: (n) => lines(n).length * FONT * 1.3 + 10,
      shape: "round-rectangle", "background-color": "#d8dcf0", "border-width": 1 } },
    { selector: "edge", style: { width: 1.5, "curve-style": "bezier", "target-arrow-shape": "triangle",
      "line-color": "#999", "target-arrow-color": "#999" } },
    { selector: "edge.conditional", style: { "line-style": "dashed" } },
    ...extra,
  ];
}

async function drawMachine() {
  const g = await get("/api/graph");
  machine = cytoscape({ container: $("machine"), maxZoom: 1, elements: [
      // answer_adapter on two lines: the loop's widest label set how far the ellipse had to spread
      ...g.nodes.map((n) => ({ data: { id: n.id, label: n.id.replace(/__/g, "").replace(/_/g, "\n") } })),
      ...g.edges.map((e, i) => ({ data: { id: "e" + i, source: e.source, target: e.target },
        classes: e.conditional ? "conditional" : "" })),
    ],
    style: graphStyle([
      { selector: "node.ran", style: { "background-color": "#f4a259", "border-width": 3 } },
      { selector: "node.next", style: { "border-color": "#f4a259", "border-width": 3, "border-style": "dashed" } },
    ]) });
}

function layoutLoop() {
  // The self-play machine is one loop (evaluate -> ... -> record -> train -> evaluate): its nodes, in the
  // graph's own order, round an ellipse that fills the panel. Layered layouts piled the loop's nodes on each
  // other, and a circle fitted into the wide panel shrank its labels to a few pixels.
  const nodes = machine.nodes(), pad = 6;
  const rx = Math.max(0, machine.width() - Math.max(...nodes.map((n) => n.outerWidth()))) / 2 - pad;
  const ry = Math.max(0, machine.height() - Math.max(...nodes.map((n) => n.outerHeight()))) / 2 - pad;
  const at = (i) => Math.PI + (2 * Math.PI * i) / nodes.length;  // the first node on the left
  const apart = (a, b) => a.x2 + pad < b.x1 || b.x2 + pad < a.x1 || a.y2 + pad < b.y1 || b.y2 + pad < a.y1;
  for (let scale = 1; scale < 3; scale *= 1.05) {  // wider where neighbours' labels would touch
    nodes.forEach((n, i) => n.position({ x: scale * rx * Math.cos(at(i)), y: scale * ry * Math.sin(at(i)) }));
    const boxes = nodes.map((n) => n.boundingBox());
    if (boxes.every((a, i) => boxes.every((b, j) => i === j || apart(a, b)))) break;
  }
  machine.fit(undefined, pad);  // at zoom 1 when it fits (maxZoom); smaller only in a small window
}

async function drawSkills() {
  const s = await get("/api/skills");
  frames = s.frames;
  skills = cytoscape({ container: $("skills"), maxZoom: 1, elements: [
      ...s.skills.map((k) => ({ data: { id: k.name, label: k.name, mastery: 0 } })),
      ...s.skills.flatMap((k) => k.prerequisites.map((p) => ({ data: { id: p + ">" + k.name, source: p, target: k.name } }))),
    ],
    style: graphStyle([{ selector: "node", style: { "background-color": "mapData(mastery, 0, 1, #f8d7da, #2e9d5b)" } }]) });
  $("slider").max = Math.max(0, frames.length - 1);
  $("slider").value = $("slider").max;
  showFrame();
}

function layoutSkills() {
  // Rows by distance from the roots (as breadthfirst), each ordered under its prerequisites and spaced by its
  // own labels' widths: breadthfirst spaced every node as the widest on a square grid, several times the panel
  // for the built-in graph, which shrank its labels to a few pixels. Rows by the deepest prerequisite instead
  // made the built-in graph eight rows deep, as small again.
  const depth = new Map(skills.nodes().roots().map((n) => [n.id(), 0])), rows = [], gap = 14;
  for (let frontier = skills.nodes().roots(); frontier.length; ) {
    frontier = frontier.outgoers("node").filter((n) => !depth.has(n.id()));
    const placed = (n) => n.incomers("node").filter((p) => depth.has(p.id())).map((p) => depth.get(p.id()));
    frontier.forEach((n) => depth.set(n.id(), Math.min(...placed(n)) + 1));
  }
  skills.nodes().forEach((n) => (rows[depth.get(n.id())] ??= []).push(n));
  const rowHeight = Math.max(...skills.nodes().map((n) => n.outerHeight())) + 2 * gap;
  const under = (n) => {  // the mean place of its prerequisites
    const ps = n.incomers("node");
    return ps.length ? ps.reduce((s, p) => s + p.position("x"), 0) / ps.length : 0;
  };
  rows.forEach((row, d) => {
    if (d > 0) row.sort((a, b) => under(a) - under(b));
    let x = -(row.reduce((s, n) => s + n.outerWidth(), 0) + gap * (row.length - 1)) / 2;
    row.forEach((n) => { n.position({ x: x + n.outerWidth() / 2, y: d * rowHeight }); x += n.outerWidth() + gap; });
  });
  skills.fit(undefined, 12);  // at zoom 1 when it fits (maxZoom)
}

function showFrame() {
  const f = frames[$("slider").value];
  if (!f) return;
  $("slider-step").textContent = `${f.step} (${Number($("slider").value) + 1}/${frames.length})`;
  for (const [skill, m] of Object.entries(f.mastery)) {
    const node = skills.getElementById(skill);
    node.data({ mastery: m.value, label: `${skill}\nL${m.level} ${(m.value * 100).toFixed(0)}%` });
  }
}

function highlight(checkpoint) {
  machine.nodes().removeClass("ran next");
  if (!checkpoint) return;
  if (checkpoint.ran) machine.getElementById(checkpoint.ran).addClass("ran");
  checkpoint.next.forEach((n) => machine.getElementById(n).addClass("next"));
  $("at").textContent = `after ${checkpoint.ran ?? "start"}, next ${checkpoint.next.join(", ") || "end"}`;
}

function fillFilter(id, values) {
  const sel = $(id), keep = sel.value;
  sel.length = 1;
  [...new Set(values)].sort().forEach((v) => sel.add(new Option(v, v)));
  sel.value = keep;
}

function drawTimeline() {
  const [skill, strategy, verdict] = ["f-skill", "f-strategy", "f-verdict"].map((id) => $(id).value);
  const shown = rows.filter((r) => (!skill || r.skill === skill) && (!strategy || r.strategy === strategy)
    && (!verdict || r.status === verdict));
  $("count").textContent = `${shown.length} of ${rows.length} tasks`;
  $("timeline").tBodies[0].innerHTML = shown.map((r) => `<tr class="entry" data-id="${esc(r.id)}"><td>${r.step}</td>
    <td>${r.round}</td><td>${esc(r.skill)}</td><td>${r.level}</td><td>${esc(r.strategy)}</td>
    <td class="${r.status}">${r.status}</td></tr>`).join("");
}

async function inspect(id, tr) {
  document.querySelectorAll("tr.selected").forEach((x) => x.classList.remove("selected"));
  tr?.classList.add("selected");
  const s = await get("/api/step/" + encodeURIComponent(id));
  const { task, attempt, verdict } = s.trajectory;
  const cps = await get("/api/checkpoints");
  highlight(cps.find((c) => c.id === s.checkpoint));
  const field = (name, value) => `<dt>${name}</dt><dd><pre>${esc(value)}</pre></dd>`;
  $("inspector").innerHTML = `<dl id="step" data-id="${esc(id)}">
    <dt>task</dt><dd>${esc(task.id)} (${esc(task.skill)}, level ${task.difficulty}, ${esc(task.provenance.strategy)})</dd>
    ${field("prompt", task.prompt)}${field("raw output", attempt.raw_output)}
    ${field("adapted answer", `${attempt.adapted_answer ?? "(none)"}   [${attempt.adapter_note}]`)}
    <dt>verdict</dt><dd class="${verdict.status}">${verdict.status}: ${esc(verdict.details)} (reference ${esc(task.reference)})</dd>
    ${verdict.stdout ? field("sandbox stdout", verdict.stdout) : ""}${verdict.stderr ? field("sandbox stderr", verdict.stderr) : ""}
    ${verdict.tests.length ? field("tests", verdict.tests.map((t) => `${t.passed ? "pass" : "FAIL"} ${t.test} ${t.error}`).join("\n")) : ""}
    ${field("curator's note", s.state.curator_note)}${field("diagnosis", JSON.stringify(s.state.diagnosis, null, 1))}
    ${s.state.feedback ? field("tutor feedback", s.state.feedback) : ""}
    <dt>full state at checkpoint ${esc(s.checkpoint)}</dt><dd><details><summary>show</summary>
    <pre>${esc(JSON.stringify(s.state, null, 1))}</pre></details></dd></dl>`;
}

function polyline(points, w, h) {
  if (!points.length) return "";
  const xs = (i) => 20 + (i * (w - 40)) / Math.max(1, points.length - 1), ys = (v) => h - 15 - v * (h - 30);
  return `<svg width="${w}" height="${h}" id="curve"><polyline fill="none" stroke="#2e5aac" stroke-width="2"
    points="${points.map((p, i) => `${xs(i)},${ys(p.accuracy)}`).join(" ")}"/>${points.map((p, i) =>
    `<circle cx="${xs(i)}" cy="${ys(p.accuracy)}" r="3"/><text x="${xs(i) - 12}" y="${ys(p.accuracy) - 6}"
    >${(p.accuracy * 100).toFixed(1)}%</text><text x="${xs(i) - 8}" y="${h - 2}">
    ${p.round === 0 ? "before" : "r" + p.round}</text>`).join("")}</svg>`;
}

async function drawCurves() {
  const c = await get("/api/curves");
  $("curves").innerHTML = c.heldout.length ? `<div>held-out accuracy by round</div>${polyline(c.heldout, 320, 140)}`
    : `<p class="dim">no held-out evaluations (a tutoring session, or a run before its first)</p>`;
  const board = c.leaderboard ?? c.strategies.map((s) => ({ strategy: s.strategy, tasks: s.tasks,
    "verified share": (s.verified / s.tasks).toFixed(3) }));
  const cols = board.length ? Object.keys(board[0]) : [];
  $("board").innerHTML = `<div>${c.leaderboard ? "strategy leaderboard" : "strategies in this run"}</div><table>
    <tr>${cols.map((k) => `<th>${esc(k)}</th>`).join("")}</tr>${board.map((r) => `<tr>${cols.map((k) =>
    `<td>${esc(r[k])}</td>`).join("")}</tr>`).join("")}</table>`;
}

async function refresh() {
  rows = await get("/api/timeline");
  ["skill", "strategy", "status"].forEach((k, i) => fillFilter(["f-skill", "f-strategy", "f-verdict"][i], rows.map((r) => r[k])));
  drawTimeline();
  const atEnd = Number($("slider").value) === frames.length - 1;
  frames = (await get("/api/skills")).frames;
  $("slider").max = Math.max(0, frames.length - 1);
  if (atEnd) $("slider").value = $("slider").max;
  showFrame();
  const cps = await get("/api/checkpoints");
  if (!document.querySelector("tr.selected")) highlight(cps[cps.length - 1]);
  drawCurves();
}

async function poll() {
  const v = await get("/api/version").catch(() => null);
  if (v && JSON.stringify(v) !== JSON.stringify(version)) {
    version = v;
    await refresh();
    $("live").textContent = `${v.tasks} tasks, ${v.checkpoints} checkpoints, updated ${new Date().toLocaleTimeString()}`;
  }
  setTimeout(poll, 2000);
}

async function main() {
  const run = await get("/api/run");
  $("run").textContent = `${run.kind === "tutor" ? "tutoring session" : "self-play run"} ${run.run_id}`;
  await drawMachine();
  await drawSkills();
  // The panels have their final size now.
  machine.resize();
  layoutLoop();
  skills.resize();
  layoutSkills();
  window.addEventListener("resize", () => { layoutLoop(); layoutSkills(); });
  ["f-skill", "f-strategy", "f-verdict"].forEach((id) => $(id).addEventListener("change", drawTimeline));
  $("slider").addEventListener("input", showFrame);
  $("timeline").addEventListener("click", (e) => {
    const tr = e.target.closest("tr.entry");
    if (tr) inspect(tr.dataset.id, tr);
  });
  document.body.dataset.ready = "1";
  poll();
}
main();
