/**
 * The report's page scripts, written here so they are type-checked, and
 * inlined into the pages as their compiled source (pages.ts): each function
 * is self-contained and reads only what its page's data script set.
 */

/** One image as the dataset page lists it. */
export interface DatasetEntry {
  /** Index of its page, image.html?i=… */
  i: number;
  name: string;
  masks: number;
}

/** The dataset page: a sortable, paged grid of thumbnails (100 a page, thumbnails loaded lazily). */
export function datasetPage(): void {
  const data = (window as unknown as { SAM_AMG_DATASET: { images: DatasetEntry[] } }).SAM_AMG_DATASET;
  const PAGE = 100;
  const grid = document.getElementById('grid')!;
  const sort = document.getElementById('sort') as HTMLSelectElement;
  const info = document.getElementById('page-info')!;
  const prev = document.getElementById('prev') as HTMLButtonElement;
  const next = document.getElementById('next') as HTMLButtonElement;
  let order = data.images.slice();
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
      img.src = `thumbs/${im.i}.jpg`;
      img.alt = im.name;
      const count = document.createElement('span');
      count.className = 'count';
      count.textContent = `${im.masks} mask${im.masks === 1 ? '' : 's'}`;
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = im.name;
      a.append(img, count, name);
      grid.append(a);
    }
    info.textContent = `page ${page + 1} of ${pages()} (${order.length} images)`;
    prev.disabled = page === 0;
    next.disabled = page >= pages() - 1;
  }
  sort.addEventListener('change', () => {
    const [key, dir] = sort.value.split('-');
    order = data.images.slice().sort((a, b) => {
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
  prev: number | null;
  next: number | null;
  masks: PageMask[];
}

/**
 * An image page: every mask in its own colour on a canvas over the picture,
 * decoded here from the COCO RLE with sam-amg's own decoder (passed in),
 * sliders that hide masks below a predicted IoU, stability or area, details
 * of the mask under the pointer, left/right keys to the neighbours.
 */
export function imagePage(decodeCountsString: (s: string) => Uint32Array): void {
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
  const maxArea = Math.max(1, ...d.masks.map((m) => m.area));
  sliders[2].max = String(maxArea);
  const shown = document.getElementById('shown')!;
  const details = document.getElementById('details')!;
  let pinned = -1;
  const visible = (k: number) => {
    const m = d.masks[k];
    return m.predicted_iou >= Number(sliders[0].value) && m.stability_score >= Number(sliders[1].value) && m.area >= Number(sliders[2].value);
  };
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
    document.getElementById('iou-value')!.textContent = Number(sliders[0].value).toFixed(3);
    document.getElementById('stability-value')!.textContent = Number(sliders[1].value).toFixed(3);
    document.getElementById('area-value')!.textContent = `${sliders[2].value} px`;
  }
  function describe(k: number): void {
    if (k < 0) {
      details.textContent = 'Point at a mask for its details; click to pin it.';
      return;
    }
    const m = d.masks[k];
    details.textContent = `mask ${k + 1}: area ${m.area} px (${(100 * m.area / (W * H)).toFixed(2)} %), bbox [${m.bbox.join(', ')}], ` +
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
  for (const s of sliders) s.addEventListener('input', paint);
  document.addEventListener('keydown', (e) => {
    const to = e.key === 'ArrowLeft' ? d.prev : e.key === 'ArrowRight' ? d.next : null;
    if (to !== null) location.href = `image.html?i=${to}`;
  });
  describe(-1);
  paint();
}
