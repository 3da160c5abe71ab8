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
