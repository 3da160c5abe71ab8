export { detectFormat, CONTENT_TYPES, type ImageFormat } from './detect.js';
export { ImageError, isImageError, type ImageErrorCode } from './errors.js';
export {
  DEFAULT_RULES,
  fitInside,
  jpegShrinkOnLoad,
  orientedSize,
  targetSize,
  type ResizeRules,
  type Size,
  type SizeInput,
  type SizeOptions,
} from './rules.js';
export {
  bytesPerChannel,
  decodeMemoryBytes,
  DEFAULT_TIME_LIMIT,
  processingTimeLimitMs,
  type DecodeHeader,
  type OutputCost,
  type TimeLimitSettings,
} from './decode-cost.js';
export { optionsFromRules } from './options-from-rules.js';
export {
  readHeader,
  renderImage,
  resizeImage,
  type ImageHeader,
  type InputLimits,
  type RenderControl,
  type ResizeResult,
} from './resize.js';
