/** XYXY box in pixels: [x0, y0, x1, y1]. */
export type BoxXyxy = [number, number, number, number];

export interface CropBox {
  box: BoxXyxy;
  /** 0 for the whole image, i + 1 for the crops of layer i. */
  layer: number;
}

/**
 * The reference's `generate_crop_boxes`: the whole image, then for each
 * layer a 2^(i+1) × 2^(i+1) grid of overlapping crops, x outer, y inner.
 */
export function generateCropBoxes(
  height: number,
  width: number,
  nLayers: number,
  overlapRatio: number,
): CropBox[] {
  const crops: CropBox[] = [{ box: [0, 0, width, height], layer: 0 }];
  const shortSide = Math.min(height, width);
  for (let i = 0; i < nLayers; i++) {
    const perSide = 2 ** (i + 1);
    const overlap = Math.trunc(overlapRatio * shortSide * (2 / perSide));
    const cropW = cropLength(width, perSide, overlap);
    const cropH = cropLength(height, perSide, overlap);
    const x0s = cropStarts(cropW, overlap, perSide);
    const y0s = cropStarts(cropH, overlap, perSide);
    for (const x0 of x0s) {
      for (const y0 of y0s) {
        crops.push({
          box: [x0, y0, Math.min(x0 + cropW, width), Math.min(y0 + cropH, height)],
          layer: i + 1,
        });
      }
    }
  }
  return crops;
}

function cropLength(length: number, perSide: number, overlap: number): number {
  return Math.ceil((overlap * (perSide - 1) + length) / perSide);
}

function cropStarts(cropLen: number, overlap: number, perSide: number): number[] {
  const starts: number[] = [];
  for (let k = 0; k < perSide; k++) starts.push(Math.trunc((cropLen - overlap) * k));
  return starts;
}

/**
 * numpy's `linspace(offset, 1 - offset, n)` grid, as (x, y) pairs with y the
 * outer loop, in [0, 1] units.
 */
export function buildPointGrid(n: number): Float64Array {
  const offset = 1 / (2 * n);
  const side = linspace(offset, 1 - offset, n);
  const points = new Float64Array(n * n * 2);
  for (let yi = 0; yi < n; yi++) {
    for (let xi = 0; xi < n; xi++) {
      const k = (yi * n + xi) * 2;
      points[k] = side[xi];
      points[k + 1] = side[yi];
    }
  }
  return points;
}

/** Same arithmetic as numpy's linspace (i * step + start, exact endpoint). */
function linspace(start: number, stop: number, n: number): Float64Array {
  const out = new Float64Array(n);
  if (n === 1) {
    out[0] = start;
    return out;
  }
  const step = (stop - start) / (n - 1);
  for (let i = 0; i < n; i++) out[i] = i * step + start;
  out[n - 1] = stop;
  return out;
}

/** The points per side of crop layer `layer`: the reference's `int(n_per_side / (scale_per_layer ** i))`. */
export function layerPointsPerSide(pointsPerSide: number, downscaleFactor: number, layer: number): number {
  return Math.trunc(pointsPerSide / downscaleFactor ** layer);
}

/** One grid per crop layer: layer i has int(pointsPerSide / factor^i) per side. */
export function buildLayerPointGrids(
  pointsPerSide: number,
  nLayers: number,
  downscaleFactor: number,
): Float64Array[] {
  const grids: Float64Array[] = [];
  for (let i = 0; i <= nLayers; i++) {
    grids.push(buildPointGrid(layerPointsPerSide(pointsPerSide, downscaleFactor, i)));
  }
  return grids;
}

/** `ResizeLongestSide.get_preprocess_shape`: the size after resizing the longest side to `target`. */
export function preprocessShape(height: number, width: number, target: number): [number, number] {
  const scale = target / Math.max(height, width);
  return [Math.trunc(height * scale + 0.5), Math.trunc(width * scale + 0.5)];
}

export function boxArea(box: ArrayLike<number>, offset = 0): number {
  return (box[offset + 2] - box[offset]) * (box[offset + 3] - box[offset + 1]);
}
