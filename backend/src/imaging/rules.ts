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

/** What the output size depends on: the box, the fit and enlarge (a subset of OutputOptions). */
export interface SizeOptions {
  width: number;
  height: number;
  fit: 'inside' | 'cover';
  enlarge: boolean;
}

/** The input as far as sizing goes: its stored size, format (for shrink-on-load) and EXIF orientation. */
export interface SizeInput extends Size {
  format?: string;
  orientation?: number | undefined;
}

/**
 * sharp's ResolveShrink: one factor for both axes (the larger for `inside`,
 * the smaller for `cover`), never below 1 without enlarge, never sending an
 * axis below one pixel.
 */
function resolveShrink(size: Size, box: SizeOptions): { h: number; v: number } {
  const hs = size.width / box.width;
  const vs = size.height / box.height;
  let s = box.fit === 'cover' ? Math.min(hs, vs) : Math.max(hs, vs);
  if (!box.enlarge) s = Math.max(1, s);
  return { h: Math.min(s, size.width), v: Math.min(s, size.height) };
}

/** The JPEG decoder's scale (1, 2, 4 or 8) sharp picks for a shrink factor, with its rule for libjpeg's rounding. */
export function jpegShrinkOnLoad(shrink: number): number {
  let factor = shrink >= 8 ? 8 : shrink >= 4 ? 4 : shrink >= 2 ? 2 : 1;
  if (factor > 1 && Math.trunc(shrink) === factor) factor /= 2;
  return factor;
}

/**
 * The exact size sharp gives for `input` under `box`, computed as its
 * pipeline does: orientation first (a quarter turn swaps the axes), the
 * decoder's shrink-on-load (JPEG decodes at 1/2, 1/4 or 1/8, which libvips
 * rounds down; WebP at the scale itself, to the nearest pixel), the shrink factor
 * again on what was loaded,
 * libvips' rounding, then for `cover` the crop to the box. With enlarge off,
 * `cover` of an image smaller than the box crops only the axis that
 * overflows (1000x400 into 800x600 gives 800x400). A test holds this and
 * sharp together over a matrix of sizes, formats, fits and orientations.
 */
export function targetSize(input: SizeInput, box: SizeOptions): Size {
  let size = orientedSize(input, input.orientation);
  const first = resolveShrink(size, box);
  const shrink = Math.min(first.h, first.v);
  if (input.format === 'jpeg') {
    const f = jpegShrinkOnLoad(shrink);
    if (f > 1) size = { width: Math.max(1, Math.floor(size.width / f)), height: Math.max(1, Math.floor(size.height / f)) };
  } else if (input.format === 'webp' && shrink > 1) {
    size = { width: Math.round(size.width / shrink), height: Math.round(size.height / shrink) };
  }
  const again = resolveShrink(size, box);
  const resized = {
    width: Math.max(1, Math.round(size.width / again.h)),
    height: Math.max(1, Math.round(size.height / again.v)),
  };
  if (box.fit === 'inside') return resized;
  return { width: Math.min(box.width, resized.width), height: Math.min(box.height, resized.height) };
}
