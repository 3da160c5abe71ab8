export { ACCEPTED_TYPES_TEXT, detectFormat, CONTENT_TYPES, MAGIC_BYTES, type ImageFormat } from './detect.js';
export { ImageError, isImageError, type ImageErrorCode } from './errors.js';
export {
  DEFAULT_RULES,
  fitInside,
  jpegShrinkOnLoad,
  orientedSize,
  outputPixelsEstimate,
  resizeCall,
  targetSize,
  type ResizeCall,
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
export { decodeHeif, heifDecodeBytes, type HeifDecodeInput } from './heif-decode.js';
export { decodeHeifOffThread } from './heif-thread.js';
export { encodeWithinBytes, maxEncodePasses, QUALITY_STEP, qualityLadder } from './target-bytes.js';
export {
  loadableInput,
  readHeader,
  renderImage,
  resizeImage,
  type HeifDecoder,
  type ImageHeader,
  type InputLimits,
  type RenderControl,
  type ResizeResult,
} from './resize.js';
