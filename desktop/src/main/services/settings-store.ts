/**
 * The app's settings, kept as JSON in the user data folder. Every value is
 * validated on the way in (from the renderer) and on the way back from disk
 * (a hand-edited or half-written file must not crash the app: bad fields
 * fall back to their defaults and are reported). Writes are atomic: a
 * temporary file is written, flushed and renamed over the old one, so a
 * crash never leaves a truncated settings file.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_OUTPUT_OPTIONS, outputOptionsSchema } from '@imgfleet/backend/contract/output-options';
import { DEFAULT_NAMING_TEMPLATE } from '../../shared/naming-template.js';
import { UPLOAD_CONCURRENCY } from '../../shared/api-policy/index.js';
import { backendUrlSchema, namingTemplateSchema, settingsPatchSchema } from '../../shared/ipc-contract.js';
import type { Settings, SettingsPatch } from '../../shared/models.js';
import { AppError } from './app-error.js';

export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  backendUrl: 'http://127.0.0.1:8080',
  apiToken: '',
  outputFolder: '',
  namingTemplate: DEFAULT_NAMING_TEMPLATE,
  uploadConcurrency: UPLOAD_CONCURRENCY.default,
  outputOptions: { ...DEFAULT_OUTPUT_OPTIONS, template: DEFAULT_NAMING_TEMPLATE },
  keepDates: true,
  watchFolder: '',
  watchMode: 'upload',
});

const fieldSchemas = {
  // Stored without a trailing slash so `${backendUrl}/api/v1/…` is always right.
  backendUrl: backendUrlSchema,
  apiToken: z.string().max(4096),
  outputFolder: z
    .string()
    .max(4096)
    .refine((p) => p === '' || path.isAbsolute(p), 'the output folder must be an absolute path'),
  namingTemplate: namingTemplateSchema,
  uploadConcurrency: z.number().int().min(UPLOAD_CONCURRENCY.min).max(UPLOAD_CONCURRENCY.max),
  outputOptions: outputOptionsSchema,
  keepDates: z.boolean(),
  watchFolder: z
    .string()
    .max(4096)
    .refine((p) => p === '' || path.isAbsolute(p), 'the watched folder must be an absolute path'),
  watchMode: z.enum(['upload', 'local']),
} satisfies Record<keyof Settings, z.ZodType>;

export const settingsSchema = z.object(fieldSchemas).strict();

export const SETTINGS_FILE_NAME = 'settings.json';

type Listener = (settings: Settings, previous: Settings) => void;

export class SettingsStore {
  readonly file: string;
  private current: Settings;
  /** Problems found in the file on load (fields reset to defaults), for the log. */
  loadProblems: string[] = [];
  private writing: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<Listener>();

  private constructor(file: string, initial: Settings) {
    this.file = file;
    this.current = initial;
  }

  /** Reads `<folder>/settings.json`, or starts from the defaults when there is none. */
  static async open(folder: string, defaults: Partial<Settings> = {}): Promise<SettingsStore> {
    const base: Settings = { ...DEFAULT_SETTINGS, ...defaults };
    const store = new SettingsStore(path.join(folder, SETTINGS_FILE_NAME), base);
    await store.reload(base);
    return store;
  }

  private async reload(base: Settings): Promise<void> {
    let raw: string;
    try {
      raw = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      this.loadProblems.push(`${this.file} is not valid JSON; using the defaults`);
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      this.loadProblems.push(`${this.file} does not hold an object; using the defaults`);
      return;
    }
    // Field by field, so one bad value does not throw away the good ones.
    const next: Settings = { ...base };
    const record = parsed as Record<string, unknown>;
    for (const key of Object.keys(fieldSchemas) as (keyof Settings)[]) {
      if (!(key in record)) continue;
      const result = fieldSchemas[key].safeParse(record[key]);
      if (result.success) (next as unknown as Record<string, unknown>)[key] = result.data;
      else this.loadProblems.push(`${key}: ${result.error.issues[0]?.message ?? 'invalid'}; using the default`);
    }
    // A settings file from before the options panel has a template but no options: the template carries over.
    this.current = 'outputOptions' in record ? { ...next, namingTemplate: next.outputOptions.template } : withTemplate(next, next.namingTemplate);
  }

  get(): Settings {
    return { ...this.current };
  }

  /** Validates, applies and persists a change; throws INVALID_SETTINGS naming the field. */
  async update(patch: SettingsPatch & { outputFolder?: string; watchFolder?: string }): Promise<Settings> {
    const { outputFolder, watchFolder, ...rendererPatch } = patch;
    const checked = settingsPatchSchema.safeParse(rendererPatch);
    if (!checked.success) throw invalid(checked.error);
    let merged: Settings = {
      ...this.current,
      ...checked.data,
      ...(outputFolder === undefined ? {} : { outputFolder }),
      ...(watchFolder === undefined ? {} : { watchFolder }),
    };
    // One template, two ways to set it (the settings dialog, the options panel): the one changed wins.
    if (checked.data.outputOptions) merged = { ...merged, namingTemplate: checked.data.outputOptions.template };
    else if (checked.data.namingTemplate !== undefined) merged = withTemplate(merged, checked.data.namingTemplate);
    const result = settingsSchema.safeParse(merged);
    if (!result.success) throw invalid(result.error);
    const previous = this.current;
    this.current = result.data;
    await this.persist();
    for (const listener of this.listeners) listener(this.get(), previous);
    return this.get();
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private persist(): Promise<void> {
    const snapshot = JSON.stringify(this.current, null, 2) + '\n';
    // Chained so two quick updates land on disk in order.
    const write = this.writing.then(() => writeAtomically(this.file, snapshot));
    this.writing = write.catch(() => undefined);
    return write;
  }
}

function withTemplate(settings: Settings, template: string): Settings {
  return { ...settings, namingTemplate: template, outputOptions: { ...settings.outputOptions, template } };
}

function invalid(error: z.ZodError): AppError {
  const detail = error.issues.map((i) => `${i.path.join('.') || 'settings'}: ${i.message}`).join('; ');
  return new AppError('INVALID_SETTINGS', detail);
}

export async function writeAtomically(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await fs.open(temp, 'w', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}
