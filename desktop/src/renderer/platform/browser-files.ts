/**
 * Files in a plain browser: what a file input or a drop gives. The File
 * objects are kept by key, since the UI only holds LocalFile descriptions
 * and later asks for previews and uploads by key. As on the desktop, a file
 * is taken when its content is a JPEG, PNG, WebP, HEIC, TIFF or GIF image (magic bytes, as
 * the backend judges it), whatever its name, or when its name says JPEG
 * (the preview then tells what it really is); everything else is counted as
 * ignored, and dropped folders are walked recursively in a stable (name)
 * order.
 */
import { acceptAttribute } from '../../shared/input-formats.js';
import { detectFormat, MAGIC_BYTES } from './imaging-rules.js';
import { PlatformError, type AddedFiles, type LocalFile } from './platform.js';

const JPG = /\.jpe?g$/i;

/** Whether a file is taken: an image by its content, or JPEG by its name. */
export async function isPhoto(file: File): Promise<boolean> {
  if (JPG.test(file.name)) return true;
  try {
    return detectFormat(new Uint8Array(await file.slice(0, MAGIC_BYTES).arrayBuffer())) !== null;
  } catch {
    return false;
  }
}
/** Same cap as the desktop's scanner: a drop of a whole disk must not freeze the page. */
export const MAX_FILES = 10_000;

/** A file found in a pick or a drop, with its path relative to what was picked or dropped. */
export interface FoundFile {
  file: File;
  path: string;
}

export interface Walked {
  found: FoundFile[];
  ignored: number;
  unreadable: string[];
}

const byName = (a: { name: string }, b: { name: string }): number => a.name.localeCompare(b.name, undefined, { numeric: true });

/**
 * Walks dropped entries, folders recursively. Written against the
 * FileSystemEntry interface only (readEntries returns a directory in chunks
 * of at most 100 in Chromium, so it is called until it returns nothing).
 */
export async function walkEntries(entries: readonly FileSystemEntry[], maxFiles = MAX_FILES): Promise<Walked> {
  const result: Walked = { found: [], ignored: 0, unreadable: [] };
  const pathOf = (entry: FileSystemEntry): string => (entry.fullPath || entry.name).replace(/^\//, '');

  const readFiles = async (files: FileSystemFileEntry[]): Promise<void> => {
    // Reading a File object (and its first bytes) is a round trip each: entries are read a chunk at a time,
    // and no further than the cap.
    for (let start = 0; start < files.length && result.found.length < maxFiles; start += 100) {
      await readChunk(files.slice(start, start + 100));
    }
  };
  const readChunk = async (files: FileSystemFileEntry[]): Promise<void> => {
    const read = await Promise.all(
      files.map((entry) =>
        new Promise<File>((resolve, reject) => entry.file(resolve, reject)).then(
          async (file): Promise<FoundFile | 'ignored'> => ((await isPhoto(file)) ? { file, path: pathOf(entry) } : 'ignored'),
          () => {
            result.unreadable.push(pathOf(entry));
            return null;
          },
        ),
      ),
    );
    for (const item of read) {
      if (item === 'ignored') result.ignored++;
      else if (item && result.found.length < maxFiles) result.found.push(item);
    }
  };

  const visit = async (list: readonly FileSystemEntry[]): Promise<void> => {
    const files: FileSystemFileEntry[] = [];
    const folders: FileSystemDirectoryEntry[] = [];
    for (const entry of list) {
      if (entry.isDirectory) folders.push(entry as FileSystemDirectoryEntry);
      else if (!entry.isFile) result.ignored++;
      else files.push(entry as FileSystemFileEntry);
    }
    await readFiles(files);
    for (const folder of folders) {
      if (result.found.length >= maxFiles) return;
      const children = await readFolder(folder);
      if (children === null) result.unreadable.push(pathOf(folder));
      else await visit(children.sort(byName));
    }
  };

  await visit(entries);
  return result;
}

async function readFolder(folder: FileSystemDirectoryEntry): Promise<FileSystemEntry[] | null> {
  const reader = folder.createReader();
  const children: FileSystemEntry[] = [];
  try {
    for (;;) {
      const chunk = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
      if (chunk.length === 0) return children;
      children.push(...chunk);
    }
  } catch {
    return null;
  }
}

export class BrowserFiles {
  private readonly files = new Map<string, File>();
  /** The open picker's input: held so it is not collected while its dialog is up. */
  private input: HTMLInputElement | null = null;

  /** Registers what was found; returns what the UI gets. */
  add(walked: Walked): AddedFiles {
    const added: LocalFile[] = [];
    for (const { file, path } of walked.found) {
      // Path, size and time: the same photo dropped twice is recognised; two folders' IMG_0001.jpg are not confused.
      const key = `${path}|${file.size}|${file.lastModified}`;
      this.files.set(key, file);
      added.push({ key, name: file.name, size: file.size, path, ...(path.includes('/') ? { relativePath: path } : {}) });
    }
    return { files: added, ignored: walked.ignored, unreadable: walked.unreadable };
  }

  get(local: LocalFile): File {
    const file = this.files.get(local.key);
    if (!file) throw new PlatformError('FORBIDDEN_PATH', `${local.name} is no longer available; add it again`);
    return file;
  }

  /** The plain File list of an input (or of a drop without entries): photos taken, others counted. */
  async fromList(list: readonly File[]): Promise<AddedFiles> {
    const walked: Walked = { found: [], ignored: 0, unreadable: [] };
    await addLoose(walked, list, (file) => (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name);
    return this.add(walked);
  }

  pick(folders: boolean): Promise<AddedFiles | null> {
    return new Promise((resolve) => {
      const input = document.createElement('input');
      input.type = 'file';
      input.multiple = true;
      // A folder picker lists every file (others are counted as ignored); the file picker offers the photo formats first.
      if (folders) input.webkitdirectory = true;
      else input.accept = acceptAttribute();
      this.input = input;
      const finish = (value: AddedFiles | null): void => {
        if (this.input === input) this.input = null;
        resolve(value);
      };
      input.addEventListener('change', () => void this.fromList([...(input.files ?? [])]).then(finish), { once: true });
      input.addEventListener('cancel', () => finish(null), { once: true });
      input.click();
    });
  }

  /**
   * Must be called during the drop event: the items are readable only then,
   * so the entries are taken synchronously before the first await.
   */
  fromDrop(data: DataTransfer): Promise<AddedFiles> {
    const entries: FileSystemEntry[] = [];
    const loose: File[] = [];
    for (const item of [...data.items]) {
      if (item.kind !== 'file') continue;
      // Files without an entry (dragged out of some mail clients or archives) still come as files.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- absent where the Entries API is
      const entry = item.webkitGetAsEntry?.() ?? null;
      const file = entry ? null : item.getAsFile();
      if (entry) entries.push(entry);
      else if (file) loose.push(file);
    }
    // No items API at all (an old browser): the flat list, no folders.
    if (entries.length === 0 && loose.length === 0) return Promise.resolve(this.fromList([...data.files]));
    return walkEntries(entries).then(async (walked) => {
      await addLoose(walked, loose, (file) => file.name);
      return this.add(walked);
    });
  }
}

/** Files without entries: each photo taken (up to MAX_FILES), the rest counted as ignored. */
async function addLoose(walked: Walked, files: readonly File[], pathOf: (file: File) => string): Promise<void> {
  const photo = await Promise.all(files.map(isPhoto));
  files.forEach((file, i) => {
    if (!photo[i]) walked.ignored++;
    else if (walked.found.length < MAX_FILES) walked.found.push({ file, path: pathOf(file) });
  });
}
