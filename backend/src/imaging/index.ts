export { detectFormat, CONTENT_TYPES, type ImageFormat } from './detect.js';
export { ImageError, isImageError, type ImageErrorCode } from './errors.js';
export { DEFAULT_RULES, fitInside, orientedSize, type ResizeRules, type Size } from './rules.js';
export { readHeader, resizeImage, type ImageHeader, type ResizeResult } from './resize.js';
