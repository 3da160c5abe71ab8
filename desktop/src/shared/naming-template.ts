/**
 * Output file names from a template such as `{name}_{width}x{height}.jpg`.
 * Pure string work (no file system), shared by the downloader and the local
 * resizer (and the browser's download links) so all name files alike. No
 * zod here: the renderer imports this module and stays small; the schema is
 * in ipc-contract.ts.
 */
export const DEFAULT_NAMING_TEMPLATE = '{name}_{width}x{height}.jpg';
export const NAMING_TOKENS = ['name', 'width', 'height', 'id', 'ext'] as const;
export type NamingToken = (typeof NAMING_TOKENS)[number];
export type NamingValues = Record<NamingToken, string | number>;

const TOKEN = /\{([^{}]*)\}/g;

/** Why a template is unusable, or null when it is fine. */
export function templateProblem(template: string): string | null {
  if (template.trim() === '') return 'the naming template is empty';
  if (template.length > 200) return 'the naming template is longer than 200 characters';
  if (/[/\\]/.test(template)) return 'the naming template may not contain / or \\ (it names a file, not a folder)';
  const unknown = [...template.matchAll(TOKEN)]
    .map((m) => m[1] ?? '')
    .filter((t) => !(NAMING_TOKENS as readonly string[]).includes(t));
  if (unknown.length > 0) {
    return `unknown token ${unknown.map((t) => `{${t}}`).join(', ')}; use ${NAMING_TOKENS.map((t) => `{${t}}`).join(' ')}`;
  }
  if (/[{}]/.test(template.replace(TOKEN, ''))) return 'the naming template has an unmatched { or }';
  // Without {name} or {id} every output would get the same name plus a (n) suffix.
  if (!/\{(name|id)\}/.test(template)) return 'the naming template needs {name} or {id} so files get distinct names';
  return null;
}

// Characters no file system in our targets accepts (Windows is the strictest), and control characters.
const UNSAFE = /[<>:"/\\|?*\u0000-\u001f\u007f]/g;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
const MAX_NAME_LENGTH = 200;

/** Splits `photo.final.JPG` into `photo.final` and `JPG`. */
export function splitName(fileName: string): { base: string; ext: string } {
  const dot = fileName.lastIndexOf('.');
  if (dot <= 0) return { base: fileName, ext: '' };
  return { base: fileName.slice(0, dot), ext: fileName.slice(dot + 1) };
}

/**
 * The file name for one output. Always ends in .jpg/.jpeg because the output
 * is always JPEG; unsafe characters become `_`.
 */
export function renderName(template: string, values: NamingValues): string {
  let name = template.replace(TOKEN, (_, token: string) => String(values[token as NamingToken] ?? ''));
  name = name.replace(UNSAFE, '_').replace(/[. ]+$/, '').trim();
  if (!/\.jpe?g$/i.test(name)) name = `${name}.jpg`;
  const [, base = '', ext = 'jpg'] = /^(.*)\.(jpe?g)$/i.exec(name) ?? [];
  let safeBase = base.trim() === '' ? 'image' : base;
  if (WINDOWS_RESERVED.test(safeBase)) safeBase = `_${safeBase}`;
  // Room for the extension and a " (999)" de-duplication suffix.
  safeBase = safeBase.slice(0, MAX_NAME_LENGTH - ext.length - 8);
  return `${safeBase}.${ext}`;
}
