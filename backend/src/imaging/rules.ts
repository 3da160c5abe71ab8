/**
 * The resize rules, as numbers. Shared by the backend and the desktop so a
 * local preview promises exactly what the cluster returns.
 */
export interface ResizeRules {
  /** Fit inside this width (pixels). */
  maxWidth: number;
  /** Fit inside this height (pixels). */
  maxHeight: number;
  /** JPEG quality 1–100 of the output. */
  quality: number;
  /** Largest accepted input, width × height (decompression-bomb guard). */
  maxPixels: number;
  /** Largest accepted input file in bytes. */
  maxBytes: number;
}

export const DEFAULT_RULES: Readonly<ResizeRules> = Object.freeze({
  maxWidth: 800,
  maxHeight: 600,
  quality: 85,
  maxPixels: 100_000_000,
  maxBytes: 50 * 1024 * 1024,
});

export interface Size {
  width: number;
  height: number;
}

/**
 * The size an image of `width` x `height` (already oriented) gets: fit inside
 * the box keeping the aspect ratio, never enlarged. The rounding is libvips'
 * (the short side is rounded from the long side's scale factor), so this is
 * the exact size sharp produces; a test holds the two together.
 */
export function fitInside(size: Size, rules: Pick<ResizeRules, 'maxWidth' | 'maxHeight'>): Size {
  const { width, height } = size;
  if (width <= rules.maxWidth && height <= rules.maxHeight) return { width, height };
  const xFactor = width / rules.maxWidth;
  const yFactor = height / rules.maxHeight;
  if (xFactor >= yFactor) {
    return { width: rules.maxWidth, height: Math.max(1, Math.round(height / xFactor)) };
  }
  return { width: Math.max(1, Math.round(width / yFactor)), height: rules.maxHeight };
}

/** EXIF orientations 5–8 turn the image a quarter: width and height swap. */
export function orientedSize(size: Size, orientation: number | undefined): Size {
  return orientation !== undefined && orientation >= 5 && orientation <= 8
    ? { width: size.height, height: size.width }
    : { width: size.width, height: size.height };
}

/**
 * What the output size depends on (a subset of OutputOptions): the size
 * fields of one mode (see output-options.ts), the fit and enlarge. Callers
 * from before the modes pass a box (width and height) only.
 */
export interface SizeOptions {
  width: number | null;
  height: number | null;
  longEdge?: number | null | undefined;
  scale?: number | null | undefined;
  fit: 'inside' | 'cover';
  enlarge: boolean;
}

/** The input as far as sizing goes: its stored size, format (for shrink-on-load) and EXIF orientation. */
export interface SizeInput extends Size {
  format?: string;
  orientation?: number | undefined;
}

/**
 * The arguments sharp's resize gets for a mode, on the oriented image: a
 * box (both sides), one side (the other null: sharp keeps the aspect), or
 * none (no size given: no resize). A long edge L is the box L×L with fit
 * inside; a scale is the long edge of that share of the longer side
 * (rounded, at least 1), so a 17×2000 strip at 10 % is 2×200, not the
 * 2×235 that scaling its 17-pixel side would give.
 */
export interface ResizeCall {
  width: number | null;
  height: number | null;
  fit: 'inside' | 'cover';
}

export function resizeCall(oriented: Size, options: SizeOptions): ResizeCall {
  if (options.scale != null) {
    const edge = Math.max(1, Math.round((Math.max(oriented.width, oriented.height) * options.scale) / 100));
    return { width: edge, height: edge, fit: 'inside' };
  }
  if (options.longEdge != null) return { width: options.longEdge, height: options.longEdge, fit: 'inside' };
  const box = options.width != null && options.height != null;
  return { width: options.width, height: options.height, fit: box ? options.fit : 'inside' };
}

/**
 * The output's pixels judged from the options alone (no input at hand): a
 * box's and a long edge's at most; one side as if the other were the same
 * (a tall photo by its width gives more); a percentage of the largest
 * input admitted. For budgets that have the input's size, targetSize is exact.
 */
export function outputPixelsEstimate(options: SizeOptions, maxInputPixels: number): number {
  if (options.scale != null) return Math.ceil(maxInputPixels * (options.scale / 100) ** 2);
  if (options.longEdge != null) return options.longEdge ** 2;
  const side = options.width ?? options.height ?? 0;
  return (options.width ?? side) * (options.height ?? side);
}

/**
 * sharp's ResolveShrink: one factor for both axes (a box: the larger for
 * `inside`, the smaller for `cover`; one side: that side's), never below 1
 * without enlarge, never sending an axis below one pixel.
 */
function resolveShrink(size: Size, call: ResizeCall, enlarge: boolean): { h: number; v: number } {
  let s = 1;
  if (call.width != null && call.height != null) {
    const hs = size.width / call.width;
    const vs = size.height / call.height;
    s = call.fit === 'cover' ? Math.min(hs, vs) : Math.max(hs, vs);
  } else if (call.width != null) s = size.width / call.width;
  else if (call.height != null) s = size.height / call.height;
  if (!enlarge) s = Math.max(1, s);
  return { h: Math.min(s, size.width), v: Math.min(s, size.height) };
}

/** C's rint: to the nearest integer, halves to the even one. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The JPEG decoder's scale (1, 2, 4 or 8) sharp picks for a shrink factor, with its rule for libjpeg's rounding. */
export function jpegShrinkOnLoad(shrink: number): number {
  let factor = shrink >= 8 ? 8 : shrink >= 4 ? 4 : shrink >= 2 ? 2 : 1;
  if (factor > 1 && Math.trunc(shrink) === factor) factor /= 2;
  return factor;
}

/**
 * The exact size sharp gives for `input` under `options`, computed as its
 * pipeline does: orientation first (a quarter turn swaps the axes), the
 * mode's resize call (resizeCall), the decoder's shrink-on-load (JPEG
 * decodes at 1/2, 1/4 or 1/8, which libvips rounds down; WebP at the scale
 * itself, to the nearest pixel; nothing else shrinks on load), the shrink
 * factor again on what was loaded, libvips' rounding, then for `cover` the
 * crop to the box. With enlarge off, `cover` of an image smaller than the
 * box crops only the axis that overflows (1000x400 into 800x600 gives
 * 800x400). A test holds this and sharp together over a matrix of sizes,
 * formats, modes, fits and orientations.
 */
export function targetSize(input: SizeInput, options: SizeOptions): Size {
  let size = orientedSize(input, input.orientation);
  const call = resizeCall(size, options);
  if (call.width == null && call.height == null) return size;
  const first = resolveShrink(size, call, options.enlarge);
  const shrink = Math.min(first.h, first.v);
  if (input.format === 'jpeg') {
    const f = jpegShrinkOnLoad(shrink);
    if (f > 1) size = { width: Math.max(1, Math.floor(size.width / f)), height: Math.max(1, Math.floor(size.height / f)) };
  } else if (input.format === 'webp' && shrink > 1) {
    // libwebp decodes at sharp's scale (1 / shrink), libvips rounding half to even (17 at ½ loads as 8).
    size = { width: roundHalfEven(size.width * (1 / shrink)), height: roundHalfEven(size.height * (1 / shrink)) };
  }
  const again = resolveShrink(size, call, options.enlarge);
  // libvips' resize rounds size × scale, the scale being sharp's 1 / shrink (not size / shrink: they differ in the last bit).
  const resized = {
    width: Math.max(1, Math.round(size.width * (1 / again.h))),
    height: Math.max(1, Math.round(size.height * (1 / again.v))),
  };
  if (call.fit === 'inside' || call.width == null || call.height == null) return resized;
  return { width: Math.min(call.width, resized.width), height: Math.min(call.height, resized.height) };
}
