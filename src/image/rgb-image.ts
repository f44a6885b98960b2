/** 8-bit RGB pixels, row-major, 3 bytes per pixel (HWC). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}
