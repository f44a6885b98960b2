import { decodeCountsString } from '../rle/coco-string.js';
import { commandBar, datasetPage, imagePage, reviewStore } from './client.js';
import { escapeHtml, scriptData } from './escape.js';

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5em 2em; color: #222; background: #fafafa; }
h1 { font-size: 1.4em; margin: 0.8em 0 0.3em; }
.counts { display: flex; gap: 2em; margin: 0.5em 0 1em; }
.counts b { font-size: 1.4em; display: block; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; }
.plot rect { fill: #4a78c2; } .plot .axis { stroke: #888; } .plot .title { font-size: 12px; font-weight: 600; } .plot .tick { font-size: 10px; fill: #555; }
.bar { margin: 1em 0 0.5em; display: flex; gap: 1em; align-items: center; }
#grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; }
.tile { display: flex; flex-direction: column; text-decoration: none; color: inherit; background: #fff; border: 1px solid #ddd; padding: 4px; }
.tile img { width: 100%; height: 120px; object-fit: contain; background: #eee; }
.tile .count { font-weight: 600; } .tile .name { font-size: 12px; color: #666; overflow-wrap: anywhere; }
.problems li { color: #a00; }
.stage { position: relative; display: inline-block; max-width: 100%; }
.stage img, .stage .missing { display: block; max-width: 100%; }
.stage .missing { width: 640px; height: 400px; background: #999; color: #fff; text-align: center; line-height: 400px; }
#overlay { position: absolute; left: 0; top: 0; width: 100%; height: 100%; image-rendering: pixelated; cursor: crosshair; }
.controls { display: grid; grid-template-columns: 11em 22em 6em; gap: 0.3em 1em; align-items: center; margin: 0.8em 0; }
#details { min-height: 2.8em; }
.review { margin: 0.8em 0; padding: 0.5em 0.8em; background: #eef2f8; border: 1px solid #d5deea; }
.review code { display: block; margin: 0.3em 0; font-size: 13px; overflow-wrap: anywhere; user-select: all; }
#rejected button { margin: 0 0.4em 0.3em 0; }
nav a { margin-right: 1em; }
`;

/** The export command, the format it writes, and the button that downloads the rejections. */
const REVIEW_BAR = `<div class="review"><label>export as <select id="export-format"><option value="yolo">yolo</option>` +
  `<option value="labelstudio">labelstudio</option><option value="labelmap">labelmap</option><option value="coco">coco</option></select></label>
<button id="download">download rejections.json</button><code id="command"></code></div>`;

/**
 * The page scripts' own source, inlined. It is code of this package, never
 * data; the check keeps a change to client.ts from ending the script element.
 */
function code(f: (...args: never[]) => unknown): string {
  const source = f.toString();
  if (/<\/script|<!--/i.test(source)) throw new Error(`${f.name}: its source cannot be inlined in a <script> element`);
  return source;
}

/** The review's scripts, inlined: classic scripts only (pages opened from file:// may not import modules). */
const reviewScripts = (review: ReviewTarget) =>
  `const reviewStore = ${code(reviewStore)};\nconst commandBar = ${code(commandBar)};\nconst store = reviewStore(${scriptData(review)});\n`;

function page(title: string, body: string, scripts: string): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>` +
    `<body>${body}${scripts}</body></html>\n`;
}

/** Which output folder a report reviews: where its rejections are kept, and what the export command names. */
export interface ReviewTarget {
  id: string;
  out: string;
}

export interface DatasetSummary {
  title: string;
  review: ReviewTarget;
  images: number;
  masks: number;
  failures: { path: string; reason: string }[];
  unreadable: { path: string; reason: string }[];
  plots: string[];
}

/** index.html: counts, plots, problems, the thumbnail grid (its data in data/dataset.js). */
export function datasetHtml(s: DatasetSummary): string {
  const problems = [
    ...s.failures.map((f) => `<li>failed: ${escapeHtml(f.path)}: ${escapeHtml(f.reason)}</li>`),
    ...s.unreadable.map((f) => `<li>unreadable: ${escapeHtml(f.path)}: ${escapeHtml(f.reason)}</li>`),
  ];
  const body = `<h1>${escapeHtml(s.title)}</h1>
<div class="counts"><div><b id="n-images">${s.images}</b>images</div><div><b id="n-masks">${s.masks}</b>masks</div>` +
    `<div><b id="n-failures">${s.failures.length}</b>failed images</div><div><b id="n-unreadable">${s.unreadable.length}</b>unreadable outputs</div>` +
    `<div><b id="n-rejected">0</b>masks rejected in review</div></div>
${REVIEW_BAR}
<div class="plots">${s.plots.join('')}</div>
${problems.length ? `<ul class="problems">${problems.join('')}</ul>` : ''}
<div class="bar"><label>sort <select id="sort"><option value="name-asc">name</option><option value="masks-desc">most masks</option>` +
    `<option value="masks-asc">fewest masks</option></select></label>
<button id="prev">previous</button><span id="page-info"></span><button id="next">next</button></div>
<div id="grid"></div>`;
  return page(s.title, body, `<script src="data/dataset.js"></script><script>${reviewScripts(s.review)}(${code(datasetPage)})(store, commandBar);</script>`);
}

/** image.html?i=N, for N from 0 to `count` - 1: loads data/images/N.js and draws it. */
export function imageHtml(title: string, review: ReviewTarget, count: number): string {
  const body = `<nav><a href="index.html">all images</a><span id="where"></span></nav>
<h1 id="name"></h1>
<div class="controls">
<label for="min-iou">min predicted IoU</label><input id="min-iou" type="range" min="0" max="1" step="any" value="0"><span id="iou-value"></span>
<label for="min-stability">min stability score</label><input id="min-stability" type="range" min="0" max="1" step="any" value="0"><span id="stability-value"></span>
<label for="min-area">min area</label><input id="min-area" type="range" min="0" max="1" step="1" value="0"><span id="area-value"></span>
</div>
<div id="shown"></div>
<div id="rejected"></div>
<div id="details"><span id="details-text"></span> <button id="reject" hidden>reject (r)</button></div>
<div class="stage"><img id="picture" alt=""><canvas id="overlay"></canvas></div>
<p>← → move between images; r rejects the mask under the pointer (or the pinned one), or restores it.</p>
${REVIEW_BAR}`;
  // Classic scripts only: pages opened from file:// may not import modules.
  const loader = `<script>
${reviewScripts(review)}const decodeCountsString = ${code(decodeCountsString)};
const imagePage = ${code(imagePage)};
const reportTitle = ${scriptData(title)};
const imageCount = ${scriptData(count)};
const index = Number(new URLSearchParams(location.search).get('i') ?? '0');
const data = document.createElement('script');
data.src = 'data/images/' + index + '.js';
data.onload = () => {
  document.getElementById('name').textContent = window.SAM_AMG_IMAGE.name;
  document.title = window.SAM_AMG_IMAGE.name + ' — ' + reportTitle;
  imagePage(decodeCountsString, store, commandBar, { prev: index > 0 ? index - 1 : null, next: index + 1 < imageCount ? index + 1 : null });
};
data.onerror = () => { document.getElementById('name').textContent = 'no image ' + index + ' in this report'; };
document.head.append(data);
</script>`;
  return page(title, body, loader);
}
