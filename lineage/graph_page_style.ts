/**
 * The stylesheet of the lineage page. The page fills the window: a header, the graph pane and a
 * side panel (details, run picker, timeline) that scrolls on its own, so the graph never needs
 * the page to scroll. Narrow windows stack the panel under the graph.
 *
 * @module
 */

const LAYOUT = `*{box-sizing:border-box}
html,body{height:100%;margin:0}
body{display:grid;grid-template:"head head" auto "graph side" minmax(0,1fr)/minmax(0,1fr) 470px;
font:13px/1.4 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1f2328;background:#fff}
header{grid-area:head;display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 16px;padding:8px 16px;border-bottom:1px solid #d1d9e0}
h1{font-size:17px;margin:0}h2{font-size:13px;margin:0 0 6px;text-transform:uppercase;letter-spacing:.04em;color:#59636e}
h3{font-size:14px;margin:0 0 2px;overflow-wrap:anywhere}
.meta{color:#59636e;font-size:12px;margin:0 0 4px}
.legend{display:flex;flex-wrap:wrap;gap:2px 12px;margin:0;font-size:12px;color:#59636e}
.graph-pane{grid-area:graph;display:flex;flex-direction:column;min-width:0;min-height:0}
.toolbar{display:flex;align-items:center;gap:6px;padding:6px 12px;border-bottom:1px solid #eef1f4}
.toolbar .hint{color:#59636e;font-size:12px;margin-left:8px}
.canvas{position:relative;flex:1;min-height:0;overflow:hidden;background:#fbfcfd;cursor:grab;touch-action:none}
.canvas.dragging{cursor:grabbing}
.canvas:focus-visible{outline:2px solid #0969da;outline-offset:-2px}
svg.graph{position:absolute;inset:0;display:block;width:100%;height:100%;user-select:none}
.side{grid-area:side;overflow:auto;border-left:1px solid #d1d9e0;padding:10px 14px;display:flex;flex-direction:column;gap:14px}
button{font:inherit;font-size:12px;color:inherit;background:#f6f8fa;border:1px solid #d1d9e0;border-radius:6px;padding:3px 9px;cursor:pointer}
button:hover{background:#eef1f4}button:focus-visible{outline:2px solid #0969da;outline-offset:1px}
@media (max-width:900px){html,body{height:auto}
body{grid-template:"head" auto "graph" 70vh "side" auto/minmax(0,1fr)}.side{border-left:0;border-top:1px solid #d1d9e0}}`;

const GRAPH = `svg text{font-size:13px;fill:#1f2328}
.node{cursor:pointer}.node .caption{font-size:11px;fill:#59636e}.node .name{font-weight:600}
.node.job .box{fill:#e7f0fd;stroke:#3b6fd8;stroke-width:1.5}
.node.job[data-job-type="DAG"] .box{fill:#dbe4ff;stroke:#3451b2;stroke-width:2.2}
.node.dataset .box{fill:#fff4dc;stroke:#b7791f;stroke-width:1.5}
.node:focus{outline:none}.node:focus-visible .box,.node.selected .box{stroke:#0969da;stroke-width:3}
.edge{fill:none;stroke:#8c959f;stroke-width:1.4;marker-end:url(#arrow)}#arrow path{fill:#8c959f}#arrow-lit path{fill:#1f2328}
.edge.parent{stroke:#a3acb9;stroke-dasharray:5 4}
.badge{display:none}.badge rect{fill:#fff;stroke:currentColor;stroke-width:1.3}.badge text{font-size:11px;font-weight:700;fill:currentColor;text-anchor:middle}
.run-on .node{opacity:.45}.run-on .edge{opacity:.35}
.run-on .node.in-run,.run-on .node.selected{opacity:1}.run-on .edge.in-run{opacity:1;stroke:#1f2328;stroke-width:1.8;marker-end:url(#arrow-lit)}
.run-on .edge.parent.in-run{stroke:#3451b2;stroke-width:1.6}
.run-on .node.badged .badge{display:inline}
.node.st-skipped{opacity:.75}.run-on .node.st-skipped{opacity:.75}.node.st-skipped .box{stroke-dasharray:5 3;stroke:#6e7781}
.node.st-succeeded{color:#1a7f37}.node.st-failed{color:#cf222e}.node.st-aborted{color:#9a6700}
.node.st-waiting,.node.st-paused{color:#9a6700}.node.st-running{color:#0969da}.node.st-skipped{color:#6e7781}
.node.st-succeeded .box{stroke:#1a7f37}.node.st-failed .box{stroke:#cf222e;stroke-width:2.4}
.node.st-waiting .box,.node.st-paused .box,.node.st-aborted .box{stroke:#9a6700;stroke-width:2.2}`;

const PANELS =
  `.details dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:0}
.details dt{color:#59636e}.details dd{margin:0;overflow-wrap:anywhere}
.details ul{margin:2px 0 0;padding-left:18px}.details .empty{color:#59636e;margin:0}
.run-list{display:flex;flex-direction:column;gap:4px}
.run-option{display:grid;grid-template-columns:18px minmax(0,1fr);grid-template-rows:auto auto;text-align:left;padding:4px 8px;background:#fff}
.run-option .mark{grid-row:span 2;font-weight:700}.run-option .doc{font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.run-option .sub{color:#59636e;font-size:11.5px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.run-option[aria-pressed="true"]{background:#ddf4ff;border-color:#0969da;box-shadow:inset 3px 0 0 #0969da}
.status{font-weight:600}
.succeeded>.mark,.status.succeeded{color:#1a7f37}.failed>.mark,.status.failed{color:#cf222e}
.aborted>.mark,.paused>.mark,.waiting>.mark,.status.aborted,.status.paused{color:#9a6700}
.running>.mark,.status.running{color:#0969da}.skipped-stage>.mark{color:#6e7781}
.attempts{list-style:none;margin:6px 0 0;padding:0;display:grid;grid-template-columns:14px minmax(80px,1fr) max-content max-content minmax(36px,64px) max-content;column-gap:6px}
.attempts>li{display:contents}.attempts>li>span{padding:2px 0;border-bottom:1px solid #f0f2f4;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.attempts .mark{font-weight:700;text-align:center}.attempts .stage{white-space:normal;overflow-wrap:anywhere}
.attempt .try{color:#59636e;font-variant-numeric:tabular-nums}.attempt.retry .try{color:#8250df;font-weight:600}
.attempt .dur{text-align:right;color:#59636e;font-variant-numeric:tabular-nums}
.attempt .track{position:relative;height:18px}.attempt .bar{position:absolute;top:5px;height:9px;min-width:3px;border-radius:2px;background:#8c959f}
.attempt.succeeded .bar{background:#2da44e}.attempt.failed .bar{background:#cf222e}.attempt.running .bar{background:#0969da}
.attempt.waiting .bar,.attempt.aborted .bar{background:#d4a72c}
.attempt.failed .state{color:#cf222e;font-weight:600}.attempt.retried .state{color:#bc4c00}
.skipped-stage>span{color:#6e7781;font-style:italic}.skipped-stage .note{grid-column:span 2}
.attempt .error{grid-column:2/-1;white-space:normal;overflow-wrap:anywhere;color:#cf222e;font-size:11.5px;padding-top:0}`;

/**
 * The page's stylesheet.
 *
 * @category models
 */
export const PAGE_STYLE: string = [LAYOUT, GRAPH, PANELS].join("\n");
