/**
 * The report's page scripts, written here so they are type-checked, and
 * inlined into the pages as their compiled source (pages.ts): each function
 * is self-contained and reads only what its page's data script set.
 */

/** What a reviewer decided, kept in the browser (localStorage) across the report's pages. */
export interface ReviewState {
  /** Rejected masks: file_name to annotation ids, the `--reject` format. */
  rejections: Record<string, number[]>;
  minIou: number;
  minStability: number;
  minArea: number;
}

export interface ReviewStore {
  load(): ReviewState;
  save(state: ReviewState): void;
  /** The export command that applies the sliders and the rejections. */
  command(state: ReviewState, format: string): string;
  /** Hands the rejections to the browser as rejections.json. */
  download(state: ReviewState): void;
}

/**
 * The review's state under one key per output folder (`id`), so a report
 * made again for the same folder keeps it. Without storage (a browser that
 * refuses it for file:// pages) the state lasts as long as the page.
 */
export function reviewStore(review: { id: string; out: string }): ReviewStore {
  const key = `sam-amg-review:${review.id}`;
  let memory: ReviewState = { rejections: {}, minIou: 0, minStability: 0, minArea: 0 };
  const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);
  return {
    load() {
      try {
        const text = localStorage.getItem(key);
        if (text) memory = { ...memory, ...JSON.parse(text) };
      } catch {
        // Storage refused: the state in memory stands.
      }
      return memory;
    },
    save(state) {
      memory = state;
      try {
        localStorage.setItem(key, JSON.stringify(state));
      } catch {
        // Kept in memory only.
      }
    },
    command(state, format) {
      // YOLO labels go in a folder named labels, beside the images folder, where Ultralytics looks.
      const to = format === 'coco' ? 'annotations.json' : format === 'yolo' ? 'labels' : format;
      const parts = ['sam-amg export', quote(review.out), '--format', format, '--to', to];
      if (state.minIou > 0) parts.push('--min-predicted-iou', String(state.minIou));
      if (state.minStability > 0) parts.push('--min-stability-score', String(state.minStability));
      if (state.minArea > 0) parts.push('--min-area', String(state.minArea));
      if (Object.values(state.rejections).some((ids) => ids.length > 0)) parts.push('--reject rejections.json');
      return parts.join(' ');
    },
    download(state) {
      const kept = Object.fromEntries(Object.entries(state.rejections).filter(([, ids]) => ids.length > 0));
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([`${JSON.stringify(kept, null, 1)}\n`], { type: 'application/json' }));
      a.download = 'rejections.json';
      document.body.append(a);
      a.click();
      a.remove();
    },
  };
}

/** The command line and download button both pages have: `#export-format`, `#command`, `#download`. */
export function commandBar(store: ReviewStore, state: () => ReviewState): () => void {
  const format = document.getElementById('export-format') as HTMLSelectElement;
  const command = document.getElementById('command')!;
  const download = document.getElementById('download') as HTMLButtonElement;
  const show = () => {
    const s = state();
    command.textContent = store.command(s, format.value);
    download.disabled = !Object.values(s.rejections).some((ids) => ids.length > 0);
  };
  format.addEventListener('change', show);
  download.addEventListener('click', () => store.download(state()));
  show();
  return show;
}

/**
 * The images as data/dataset.js gives them, one array per field (image i's
 * page is image.html?i=i): a million images stay a few tens of megabytes.
 */
export interface DatasetColumns {
  names: string[];
  masks: number[];
  /** 1 where the image has its own thumbnail (thumbs/i.jpg), 0 where it shares thumbs/missing.jpg. */
  pictured: number[];
}

/** One image as the dataset page lists it. */
export interface DatasetEntry {
  /** Index of its page, image.html?i=… */
  i: number;
  name: string;
  masks: number;
  thumb: string;
}

/**
 * The dataset page: a sortable, paged grid of thumbnails (100 a page,
 * thumbnails loaded lazily), the masks rejected so far and the export command.
 */
export function datasetPage(store: ReviewStore, bar: typeof commandBar): void {
  const columns = (window as unknown as { SAM_AMG_DATASET: DatasetColumns }).SAM_AMG_DATASET;
  const images: DatasetEntry[] = columns.names.map((name, i) => ({
    i, name, masks: columns.masks[i], thumb: columns.pictured[i] ? `thumbs/${i}.jpg` : 'thumbs/missing.jpg',
  }));
  const review = store.load();
  document.getElementById('n-rejected')!.textContent = String(Object.values(review.rejections).reduce((n, ids) => n + ids.length, 0));
  bar(store, () => review);
  const PAGE = 100;
  const grid = document.getElementById('grid')!;
  const sort = document.getElementById('sort') as HTMLSelectElement;
  const info = document.getElementById('page-info')!;
  const prev = document.getElementById('prev') as HTMLButtonElement;
  const next = document.getElementById('next') as HTMLButtonElement;
  let order = images.slice();
  let page = 0;
  const pages = () => Math.max(1, Math.ceil(order.length / PAGE));
  function render(): void {
    grid.textContent = '';
    for (const im of order.slice(page * PAGE, (page + 1) * PAGE)) {
      const a = document.createElement('a');
      a.className = 'tile';
      a.href = `image.html?i=${im.i}`;
      a.dataset.masks = String(im.masks);
      const img = document.createElement('img');
      img.loading = 'lazy';
      img.src = im.thumb;
      img.alt = im.name;
      const count = document.createElement('span');
      count.className = 'count';
      const rejected = review.rejections[im.name]?.length ?? 0;
      count.textContent = `${im.masks} mask${im.masks === 1 ? '' : 's'}${rejected ? `, ${rejected} rejected` : ''}`;
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = im.name;
      a.append(img, count, name);
      grid.append(a);
    }
    info.textContent = `page ${page + 1} of ${pages()} (${order.length} image${order.length === 1 ? '' : 's'})`;
    prev.disabled = page === 0;
    next.disabled = page >= pages() - 1;
  }
  sort.addEventListener('change', () => {
    const [key, dir] = sort.value.split('-');
    order = images.slice().sort((a, b) => {
      const c = key === 'masks' ? a.masks - b.masks : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
      return (dir === 'desc' ? -c : c) || a.i - b.i;
    });
    page = 0;
    render();
  });
  prev.addEventListener('click', () => { page = Math.max(0, page - 1); render(); });
  next.addEventListener('click', () => { page = Math.min(pages() - 1, page + 1); render(); });
  render();
}

/** One mask as an image page's data gives it. */
export interface PageMask {
  /** The annotation's id in its per-image file, as `--reject` names it. */
  id: number;
  counts: string;
  area: number;
  bbox: number[];
  predicted_iou: number;
  stability_score: number;
  point: number[];
}

export interface PageImage {
  name: string;
  width: number;
  height: number;
  /** The picture, beside the page; null when it could not be read. */
  src: string | null;
  masks: PageMask[];
}

/** The pages before and after an image's, where there are such. */
export interface Neighbours {
  prev: number | null;
  next: number | null;
}

/**
 * An image page: every mask in its own colour on a canvas over the picture,
 * decoded here from the COCO RLE with sam-amg's own decoder (passed in),
 * sliders that hide masks below a predicted IoU (as `--min-predicted-iou`,
 * which keeps those above it), stability or area, details of the mask under
 * the pointer, rejecting a mask (its button or `r`) and restoring it, the
 * export command, left/right keys to the neighbours.
 */
export function imagePage(decodeCountsString: (s: string) => Uint32Array, store: ReviewStore, bar: typeof commandBar, around: Neighbours): void {
  const d = (window as unknown as { SAM_AMG_IMAGE: PageImage }).SAM_AMG_IMAGE;
  const W = d.width;
  const H = d.height;
  const canvas = document.getElementById('overlay') as HTMLCanvasElement;
  canvas.width = W;
  canvas.height = H;
  const picture = document.getElementById('picture') as HTMLImageElement;
  if (d.src) picture.src = d.src;
  else picture.replaceWith(Object.assign(document.createElement('div'), { className: 'missing', textContent: 'image not found' }));
  const ctx = canvas.getContext('2d')!;
  const runs = d.masks.map((m) => decodeCountsString(m.counts));
  // Small masks are painted last, so they stay visible over the large ones they sit in.
  const paintOrder = d.masks.map((_, k) => k).sort((a, b) => d.masks[b].area - d.masks[a].area || a - b);
  const colours = d.masks.map((_, k) => {
    const h = (k * 137.508) % 360;
    const s = 0.75;
    const l = 0.55;
    const f = (n: number) => {
      const q = (n + h / 30) % 12;
      return Math.round(255 * (l - s * Math.min(l, 1 - l) * Math.max(-1, Math.min(q - 3, 9 - q, 1))));
    };
    return [f(0), f(8), f(4)];
  });
  const label = new Int32Array(W * H);
  const sliders = ['min-iou', 'min-stability', 'min-area'].map((id) => document.getElementById(id) as HTMLInputElement);
  // A loop, not a spread: an image may have more masks than a call takes arguments.
  let maxArea = 1;
  for (const m of d.masks) maxArea = Math.max(maxArea, m.area);
  sliders[2].max = String(maxArea);
  const shown = document.getElementById('shown')!;
  const detailsText = document.getElementById('details-text')!;
  const rejectButton = document.getElementById('reject') as HTMLButtonElement;
  const rejectedList = document.getElementById('rejected')!;
  const review = store.load();
  const rejected = new Set(review.rejections[d.name] ?? []);
  [review.minIou, review.minStability, review.minArea].forEach((v, i) => { sliders[i].value = String(v); });
  let pinned = -1;
  let described = -1;
  const visible = (k: number) => {
    const m = d.masks[k];
    const minIou = Number(sliders[0].value);
    return !rejected.has(m.id) && (minIou === 0 || m.predicted_iou > minIou)
      && m.stability_score >= Number(sliders[1].value) && m.area >= Number(sliders[2].value);
  };
  const saveReview = () => {
    review.minIou = Number(sliders[0].value);
    review.minStability = Number(sliders[1].value);
    review.minArea = Number(sliders[2].value);
    review.rejections[d.name] = [...rejected].sort((a, b) => a - b);
    store.save(review);
    showCommand();
  };
  const showCommand = bar(store, () => review);
  function paint(): void {
    label.fill(-1);
    let count = 0;
    for (const k of paintOrder) {
      if (!visible(k)) continue;
      count++;
      const counts = runs[k];
      let pos = 0;
      for (let r = 0; r < counts.length; r++) {
        const end = pos + counts[r];
        // Odd runs are foreground, in column-major order.
        if (r & 1) for (let p = pos; p < end; p++) label[(p % H) * W + Math.floor(p / H)] = k;
        pos = end;
      }
    }
    const image = ctx.createImageData(W, H);
    const px = image.data;
    for (let i = 0; i < label.length; i++) {
      const k = label[i];
      if (k < 0) continue;
      const c = colours[k];
      px[4 * i] = c[0];
      px[4 * i + 1] = c[1];
      px[4 * i + 2] = c[2];
      px[4 * i + 3] = k === pinned ? 200 : 130;
    }
    ctx.putImageData(image, 0, 0);
    shown.textContent = `${count} of ${d.masks.length} masks shown`;
    rejectedList.textContent = rejected.size ? 'rejected: ' : '';
    for (const id of [...rejected].sort((a, b) => a - b)) {
      const restore = document.createElement('button');
      restore.className = 'restore';
      restore.dataset.id = String(id);
      restore.textContent = `restore mask ${id}`;
      restore.addEventListener('click', () => toggle(d.masks.findIndex((m) => m.id === id)));
      rejectedList.append(restore);
    }
    document.getElementById('iou-value')!.textContent = Number(sliders[0].value).toFixed(3);
    document.getElementById('stability-value')!.textContent = Number(sliders[1].value).toFixed(3);
    document.getElementById('area-value')!.textContent = `${sliders[2].value} px`;
  }
  function describe(k: number): void {
    described = k;
    rejectButton.hidden = k < 0;
    if (k < 0) {
      detailsText.textContent = 'Point at a mask for its details; click to pin it.';
      return;
    }
    const m = d.masks[k];
    rejectButton.textContent = rejected.has(m.id) ? 'restore (r)' : 'reject (r)';
    detailsText.textContent = `mask ${m.id}: area ${m.area} px (${(100 * m.area / (W * H)).toFixed(2)} %), bbox [${m.bbox.join(', ')}], ` +
      `predicted IoU ${m.predicted_iou.toFixed(4)}, stability ${m.stability_score.toFixed(4)}, point (${m.point.map((v) => v.toFixed(1)).join(', ')})`;
  }
  const maskAt = (e: MouseEvent) => {
    const x = Math.floor((e.offsetX / canvas.clientWidth) * W);
    const y = Math.floor((e.offsetY / canvas.clientHeight) * H);
    return x >= 0 && y >= 0 && x < W && y < H ? label[y * W + x] : -1;
  };
  canvas.addEventListener('mousemove', (e) => { if (pinned < 0) describe(maskAt(e)); });
  canvas.addEventListener('click', (e) => {
    const k = maskAt(e);
    pinned = k === pinned ? -1 : k;
    describe(k);
    paint();
  });
  /** Rejects a mask, or restores a rejected one; the state is saved at once. */
  function toggle(k: number): void {
    if (k < 0) return;
    const id = d.masks[k].id;
    if (rejected.has(id)) rejected.delete(id);
    else rejected.add(id);
    if (pinned === k && rejected.has(id)) pinned = -1;
    saveReview();
    describe(k);
    paint();
  }
  rejectButton.addEventListener('click', () => toggle(described));
  for (const s of sliders) s.addEventListener('input', () => { saveReview(); paint(); });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'r') toggle(described);
    const to = e.key === 'ArrowLeft' ? around.prev : e.key === 'ArrowRight' ? around.next : null;
    if (to !== null) location.href = `image.html?i=${to}`;
  });
  describe(-1);
  paint();
}
