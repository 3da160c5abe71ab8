/**
 * Output file names from a template such as `{name}_{w}x{h}`. Pure string
 * work (no file system, no zod, no Node imports), shared by the server's ZIP,
 * the desktop's downloader and local resizer and the browser's download
 * links, so every side names a result alike. The renderer bundles it.
 */
import { cutUtf8, hasControlCharacter, hasLoneSurrogate, MAX_SEGMENT_BYTES, SUFFIX_RESERVE_BYTES, utf8Length } from './file-names.js';

export type NamedFormat = 'jpeg' | 'webp' | 'avif' | 'png';

export const DEFAULT_NAMING_TEMPLATE = '{name}_{width}x{height}.jpg';
/** {w}/{h} are the short forms of {width}/{height}; {id} is the server's image id. */
export const NAMING_TOKENS = ['name', 'ext', 'w', 'h', 'width', 'height', 'format', 'batch', 'index', 'id'] as const;
export type NamingToken = (typeof NAMING_TOKENS)[number];

export interface NamingValues {
  /** The original file name without its extension. */
  name: string;
  /** The original extension, without the dot. */
  ext: string;
  width: number;
  height: number;
  /** Output format: decides the extension the name ends with (default jpeg). */
  format?: NamedFormat;
  batch?: string;
  /**
   * Position of the file in its batch, from 1, in upload order: the server's
   * downloads and ZIPs and the apps all number by it (see batchIndex).
   */
  index?: number;
  id?: string | number;
}

/** The extensions a result of each format may end with; the first is the one added. */
export const FORMAT_EXTENSIONS: Readonly<Record<NamedFormat, readonly string[]>> = Object.freeze({
  jpeg: ['jpg', 'jpeg'],
  webp: ['webp'],
  avif: ['avif'],
  png: ['png'],
});

const TOKEN = /\{([^{}]*)\}/g;
const TEMPLATE_IMAGE_EXTENSION = /\.(jpe?g|png|webp|avif)$/i;

/** Why a template is unusable, or null when it is fine. */
export function templateProblem(template: string): string | null {
  if (template.trim() === '') return 'the naming template is empty';
  if (template.length > 200) return 'the naming template is longer than 200 characters';
  // Such a name could be stored nowhere (PostgreSQL refuses NUL in text) and shown nowhere.
  if (hasControlCharacter(template)) return 'the naming template may not contain control characters (NUL, tab, newline...)';
  if (hasLoneSurrogate(template)) return 'the naming template has an invalid character (half of a UTF-16 surrogate pair)';
  if (/[/\\]/.test(template)) return 'the naming template may not contain / or \\ (it names a file, not a folder)';
  const unknown = [...template.matchAll(TOKEN)].map((m) => m[1] ?? '').filter((t) => !(NAMING_TOKENS as readonly string[]).includes(t));
  if (unknown.length > 0) {
    return `unknown token ${unknown.map((t) => `{${t}}`).join(', ')}; use ${NAMING_TOKENS.map((t) => `{${t}}`).join(' ')}`;
  }
  if (/[{}]/.test(template.replace(TOKEN, ''))) return 'the naming template has an unmatched { or }';
  // Without one of these every output would get the same name plus a (n) suffix.
  if (!/\{(name|id|index)\}/.test(template)) return 'the naming template needs {name} or {id} (or {index}) so files get distinct names';
  return null;
}

// Characters no file system in our targets accepts (Windows is the strictest), and control characters.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[<>:"/\\|?*\u0000-\u001f\u007f-\u009f]/g;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
/** A name's characters (UTF-16 code units), as before byte limits: short enough for Windows' 260-character paths. */
const MAX_NAME_UNITS = 200;

/**
 * `{index}`: the position of an image among its batch's images in upload
 * order (by id), from 1. `ids` are the batch's image ids (any order); the
 * server counts the same way, so one photo has one name in a single
 * download, in the ZIP and in the apps' downloads.
 */
export function batchIndex(id: number, ids: Iterable<number>): number {
  let before = 0;
  for (const other of ids) if (other < id) before++;
  return before + 1;
}

/** Splits `photo.final.JPG` into `photo.final` and `JPG`. */
export function splitName(fileName: string): { base: string; ext: string } {
  const dot = fileName.lastIndexOf('.');
  if (dot <= 0) return { base: fileName, ext: '' };
  return { base: fileName.slice(0, dot), ext: fileName.slice(dot + 1) };
}

function tokenValue(token: NamingToken, values: NamingValues): string {
  switch (token) {
    case 'w':
    case 'width':
      return String(values.width);
    case 'h':
    case 'height':
      return String(values.height);
    case 'format':
      return values.format ?? 'jpeg';
    default:
      return String(values[token] ?? '');
  }
}

/**
 * The file name for one output; unsafe characters become `_`. It always ends
 * in an extension of the output format: one written literally at the end of
 * the template for another format (the `.jpg` of `{name}.jpg` when the batch
 * makes WebP) is replaced, anything else gets the extension appended (so
 * `{name}.{ext}` of `a.png` made into JPEG is `a.png.jpg`, never a lie).
 */
export function renderName(template: string, values: NamingValues): string {
  const format = values.format ?? 'jpeg';
  const allowed = FORMAT_EXTENSIONS[format];
  const literal = TEMPLATE_IMAGE_EXTENSION.exec(template)?.[1]?.toLowerCase();
  const source = literal && !allowed.includes(literal) ? template.replace(TEMPLATE_IMAGE_EXTENSION, '') : template;
  const render = (v: NamingValues) => {
    const name = source
      .replace(TOKEN, (_, token: string) => tokenValue(token as NamingToken, v))
      .replace(UNSAFE, '_')
      .replace(/[. ]+$/, '')
      .trim();
    const dot = name.lastIndexOf('.');
    const endsRight = dot >= 0 && allowed.includes(name.slice(dot + 1).toLowerCase());
    return { base: endsRight ? name.slice(0, dot) : name, ext: endsRight ? name.slice(dot + 1) : allowed[0]! };
  };
  // At most 255 bytes of UTF-8 (file systems' limit) and 200 characters (paths stay short for Windows), with the
  // extension and room for a " (n)" de-duplication suffix.
  const room = (ext: string) => MAX_SEGMENT_BYTES - SUFFIX_RESERVE_BYTES - 1 - utf8Length(ext);
  const roomUnits = (ext: string) => MAX_NAME_UNITS - SUFFIX_RESERVE_BYTES - ext.length;
  let { base, ext } = render(values);
  if (utf8Length(base) > room(ext) || base.length > roomUnits(ext)) {
    // A long original name gives way, not the rest of the template (`_{w}x{h}`, `-{index}`).
    const rest = render({ ...values, name: '' });
    const name = cutUtf8(values.name, Math.max(0, room(rest.ext) - utf8Length(rest.base)), Math.max(0, roomUnits(rest.ext) - rest.base.length));
    ({ base, ext } = render({ ...values, name }));
  }
  let safeBase = base.trim() === '' ? 'image' : base.normalize('NFC');
  if (WINDOWS_RESERVED.test(safeBase)) safeBase = `_${safeBase}`;
  safeBase = cutUtf8(safeBase, room(ext), roomUnits(ext)).replace(/[. ]+$/, '');
  return `${safeBase || 'image'}.${ext}`;
}
