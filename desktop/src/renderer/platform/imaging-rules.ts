/**
 * The browser-safe part of the backend's imaging module: the resize rules'
 * arithmetic and the magic-byte check. `@imgfleet/backend/imaging` itself
 * also exports the sharp pipeline, so the page imports the two pure modules
 * the backend exports for this.
 */
export { DEFAULT_RULES, fitInside, orientedSize, type ResizeRules, type Size } from '@imgfleet/backend/imaging/rules';
export { ACCEPTED_TYPES_TEXT, detectFormat, MAGIC_BYTES } from '@imgfleet/backend/imaging/detect';
