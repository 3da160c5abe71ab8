/**
 * File and folder names every writer can create: cut to what file systems
 * accept, compared as they compare them. Pure string work with no Node
 * imports: the server (ZIP entries, Content-Disposition, uploads' names),
 * the desktop's writers and the renderer bundle it alike.
 *
 * - A path segment holds at most 255 BYTES of UTF-8 (ext4, APFS, NTFS and
 *   ZIP tools all stop near there), so names are cut by bytes, never in the
 *   middle of a character: not inside a surrogate pair, and (where the
 *   runtime can segment graphemes) not inside a combining sequence or an
 *   emoji ZWJ sequence either.
 * - Two names a file system would merge are one name: `café` in NFC and in
 *   NFD (macOS merges them), and names differing only in case (Windows and
 *   macOS). Outputs are written in NFC, so every platform shows one spelling.
 */

/** The most UTF-8 bytes one path segment may take. */
export const MAX_SEGMENT_BYTES = 255;
/** Room kept for a " (n)" de-duplication suffix (up to " (99999)"). */
export const SUFFIX_RESERVE_BYTES = 8;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
// eslint-disable-next-line no-control-regex
const HAS_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function utf8Length(text: string): number {
  let bytes = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** True when `text` has a C0/C1 control character (NUL, newline, escape...). */
export function hasControlCharacter(text: string): boolean {
  return HAS_CONTROL.test(text);
}

/** True when `text` has half of a surrogate pair alone (not valid UTF-16: cannot become UTF-8). */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/** Lone surrogates become U+FFFD, so the text can always be encoded as UTF-8. */
export function wellFormed(text: string): string {
  return hasLoneSurrogate(text) ? text.replace(new RegExp(LONE_SURROGATE.source, 'g'), '\ufffd') : text;
}

interface Segmenter {
  segment(text: string): Iterable<{ segment: string }>;
}

let graphemes: Segmenter | null | undefined;

/** Grapheme clusters where the runtime has Intl.Segmenter (Node, Chromium), else code points. */
function clusters(text: string): Iterable<string> {
  if (graphemes === undefined) {
    const Ctor = (Intl as unknown as { Segmenter?: new (locale?: string, options?: { granularity: 'grapheme' }) => Segmenter }).Segmenter;
    graphemes = Ctor ? new Ctor(undefined, { granularity: 'grapheme' }) : null;
  }
  if (!graphemes) return text;
  const segmenter = graphemes;
  return (function* () {
    for (const { segment } of segmenter.segment(text)) yield segment;
  })();
}

/**
 * The longest start of `text` of at most `maxBytes` UTF-8 bytes (and at most
 * `maxUnits` UTF-16 code units, when given) that ends on a character
 * boundary (a grapheme cluster's, where the runtime knows them).
 */
export function cutUtf8(text: string, maxBytes: number, maxUnits = Number.POSITIVE_INFINITY): string {
  const safe = wellFormed(text);
  if (safe.length <= maxUnits && (safe.length * 3 <= maxBytes || utf8Length(safe) <= maxBytes)) return safe;
  let out = '';
  let used = 0;
  for (const cluster of clusters(safe)) {
    const size = utf8Length(cluster);
    if (used + size > maxBytes || out.length + cluster.length > maxUnits) break;
    out += cluster;
    used += size;
  }
  return out;
}

/** How names are compared: NFC, then case-folded (as macOS and Windows file systems compare them). */
export function nameKey(name: string): string {
  return wellFormed(name).normalize('NFC').toLowerCase();
}

/** A display name: the last path segment, no control characters, at most 255 bytes of UTF-8. */
export function cleanFilename(raw: string | undefined, fallback: string): string {
  const base = (raw ?? '').split(/[\\/]/).pop() ?? '';
  const cleaned = cutUtf8(base.replace(CONTROL, '').trim(), MAX_SEGMENT_BYTES).trim();
  return cleaned || fallback;
}

/**
 * The folders a file name carries (`trip/day 1/IMG_1.JPG`, as the apps send
 * files from a dropped folder), cleaned: no `..`, no absolute path, no
 * control characters, each folder at most 255 bytes. Null when the name has no folder.
 */
export function sourcePathOf(raw: string | undefined, filename: string): string | null {
  const folders = (raw ?? '')
    .split(/[\\/]/)
    .slice(0, -1)
    .map((p) => cutUtf8(p.replace(CONTROL, '').trim(), MAX_SEGMENT_BYTES).trim())
    .filter((p) => p !== '' && p !== '.' && p !== '..')
    .slice(-16);
  if (folders.length === 0) return null;
  // Whole folders are dropped from the top rather than a name cut in the middle.
  while (folders.length > 0 && utf8Length(`${folders.join('/')}/${filename}`) > 1024) folders.shift();
  return folders.length ? `${folders.join('/')}/${filename}` : null;
}

// Characters no file system in our targets accepts (Windows is the strictest), and control characters.
// eslint-disable-next-line no-control-regex
const UNSAFE_FOLDER = /[<>:"\\|?*\u0000-\u001f\u007f-\u009f]/g;

/** Folder segments safe to recreate: no `..`, no absolute paths, no characters a file system refuses, 255 bytes each, NFC. */
export function safeFolderSegments(filePath: string): string[] {
  const parts = filePath.replace(/\\/g, '/').split('/').slice(0, -1);
  return parts
    .map((p) =>
      cutUtf8(wellFormed(p).normalize('NFC').replace(UNSAFE_FOLDER, '_'), MAX_SEGMENT_BYTES)
        .replace(/[. ]+$/, '')
        .trim(),
    )
    .filter((p) => p !== '' && p !== '.' && p !== '..');
}

/**
 * `photo.jpg` → `photo (2).jpg`: the one suffix form every writer uses. The
 * last segment stays within 255 bytes: its base is cut to make room.
 */
export function suffixedName(name: string, n: number): string {
  const slash = name.lastIndexOf('/');
  const folder = name.slice(0, slash + 1);
  const file = name.slice(slash + 1);
  const dot = file.lastIndexOf('.');
  const base = dot > 0 ? file.slice(0, dot) : file;
  const ext = dot > 0 ? file.slice(dot) : '';
  const suffix = ` (${n})`;
  const room = MAX_SEGMENT_BYTES - utf8Length(suffix) - utf8Length(ext);
  return `${folder}${cutUtf8(base, Math.max(1, room))}${suffix}${ext}`;
}

/**
 * The name a result gets among names already `taken` under `policy`, or
 * null when it is to be skipped. `taken` holds names as `nameKey` makes
 * them: names a file system would merge (case, NFC/NFD) collide.
 */
export function resolveCollision(name: string, taken: ReadonlySet<string>, policy: 'suffix' | 'skip' | 'overwrite'): string | null {
  const has = (n: string) => taken.has(nameKey(n));
  if (!has(name) || policy === 'overwrite') return name;
  if (policy === 'skip') return null;
  for (let n = 1; ; n++) {
    const candidate = suffixedName(name, n);
    if (!has(candidate)) return candidate;
  }
}
