/**
 * The item types a HEIF file declares (ISO/IEC 23008-12: the `infe` entries
 * of the `iinf` box inside the top-level `meta` box): `av01` for an
 * AV1-coded image, `hvc1` for HEVC, `grid` for a derived image, `Exif` for
 * metadata. Read from the bytes, because sharp's `compression` comes from
 * the file's brand, not from its images: an AVIF whose major brand is
 * `mif1` reads as 'hevc', and a file branded `avif` may hold other codings.
 * Undefined where the boxes do not parse.
 */
export function heifItemTypes(bytes: Uint8Array): string[] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    const meta = firstBox(view, 0, view.byteLength, 'meta');
    // meta and iinf are full boxes: a version byte and three flag bytes come first.
    const iinf = meta && firstBox(view, meta.start + 4, meta.end, 'iinf');
    if (!iinf) return undefined;
    const entriesAt = iinf.start + 4 + (view.getUint8(iinf.start) === 0 ? 2 : 4);
    const types: string[] = [];
    for (const infe of boxes(view, entriesAt, iinf.end)) {
      if (infe.type !== 'infe') continue;
      const version = view.getUint8(infe.start);
      // Versions 0 and 1 name no item type; HEIF requires 2 or 3 (an item_ID of 16 or 32 bits, then a 16-bit protection index).
      if (version !== 2 && version !== 3) return undefined;
      const typeAt = infe.start + 4 + (version === 2 ? 2 : 4) + 2;
      if (typeAt + 4 > infe.end) return undefined;
      types.push(fourCc(view, typeAt));
    }
    return types;
  } catch (err) {
    if (err instanceof MalformedBox || err instanceof RangeError) return undefined;
    throw err;
  }
}

interface Box {
  type: string;
  /** Where the box's content starts and ends. */
  start: number;
  end: number;
}

class MalformedBox extends Error {}

/** The boxes laid end to end from `from` to `to`; one that overruns its container throws MalformedBox. */
function* boxes(view: DataView, from: number, to: number): Generator<Box> {
  for (let at = from; at < to;) {
    if (at + 8 > to) throw new MalformedBox();
    let size = view.getUint32(at);
    let header = 8;
    if (size === 1) {
      if (at + 16 > to) throw new MalformedBox();
      size = Number(view.getBigUint64(at + 8));
      header = 16;
    } else if (size === 0) {
      size = to - at; // the last box runs to the end of its container
    }
    if (size < header || at + size > to) throw new MalformedBox();
    yield { type: fourCc(view, at + 4), start: at + header, end: at + size };
    at += size;
  }
}

function firstBox(view: DataView, from: number, to: number, type: string): Box | undefined {
  for (const box of boxes(view, from, to)) if (box.type === type) return box;
  return undefined;
}

function fourCc(view: DataView, at: number): string {
  return String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3));
}
