/**
 * `Content-Disposition: attachment` for any name (RFC 6266): a quoted ASCII
 * `filename` for old clients and, when the name is not plain ASCII, the
 * exact name as UTF-8 in `filename*` (RFC 8187, formerly 5987), which every
 * current browser prefers. It cannot throw: half a surrogate pair (which
 * encodeURIComponent refuses) is replaced first.
 */
import { wellFormed } from '../../contract/file-names.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const PLAIN = /^[\x20-\x7e]*$/;

/** RFC 8187 value-chars: encodeURIComponent leaves ' ( ) * as they are, which attr-char does not allow. */
function extValue(text: string): string {
  return encodeURIComponent(text).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function attachmentHeader(name: string): string {
  // CR/LF and other controls never reach a header (stored names are cleaned of them; this is the last guard).
  const safe = wellFormed(name).replace(CONTROL, '_').trim() || 'download';
  const ascii = safe
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]/g, '_')
    .replace(/["\\]/g, '_');
  const head = `attachment; filename="${ascii}"`;
  return PLAIN.test(safe) && ascii === safe ? head : `${head}; filename*=UTF-8''${extValue(safe)}`;
}
