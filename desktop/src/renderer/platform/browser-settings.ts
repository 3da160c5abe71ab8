/**
 * The browser adapter's settings, kept in this browser's localStorage (the
 * backend URL is the page's own origin and there is no output folder).
 * `uploadTimeouts` has no field in the dialog: it is there for a deployment
 * (or a test) that needs other upload time limits than the defaults.
 */
import { DEFAULT_UPLOAD_TIMEOUTS, UPLOAD_CONCURRENCY, type UploadTimeouts } from '../../shared/api-policy/index.js';
import { DEFAULT_NAMING_TEMPLATE, templateProblem } from '../../shared/naming-template.js';
import { DEFAULT_OUTPUT_OPTIONS } from '@imgfleet/backend/contract/output-options';
import { validateOptions } from '../../shared/server-config.js';
import { PlatformError, type OutputOptions, type Settings, type SettingsPatch } from './platform.js';

export const STORAGE_KEY = 'imgfleet.settings';

export interface StoredSettings {
  apiToken: string;
  namingTemplate: string;
  uploadConcurrency: number;
  /** The options panel's choices; checked again on the way out of storage (a stale or hand-edited value falls back to the defaults). */
  outputOptions?: unknown;
  uploadTimeouts?: Partial<UploadTimeouts>;
}

export class BrowserSettings {
  constructor(private readonly origin: string) {}

  stored(): StoredSettings {
    const defaults: StoredSettings = { apiToken: '', namingTemplate: DEFAULT_NAMING_TEMPLATE, uploadConcurrency: UPLOAD_CONCURRENCY.default };
    try {
      return { ...defaults, ...(JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}') as Partial<StoredSettings>) };
    } catch {
      return defaults;
    }
  }

  outputOptions(): OutputOptions {
    const stored = this.stored();
    const checked = validateOptions(stored.outputOptions ?? {});
    const options = checked.ok ? checked.options : { ...DEFAULT_OUTPUT_OPTIONS };
    return stored.outputOptions === undefined ? { ...options, template: stored.namingTemplate } : options;
  }

  get(): Settings {
    const { apiToken, uploadConcurrency } = this.stored();
    const outputOptions = this.outputOptions();
    // A browser writes no files of its own (downloads get the browser's dates): keepDates is the desktop's.
    return {
      apiToken,
      namingTemplate: outputOptions.template,
      uploadConcurrency,
      backendUrl: this.origin,
      outputFolder: '',
      outputOptions,
      keepDates: true,
      watchFolder: '',
      watchMode: 'upload',
    };
  }

  update(patch: SettingsPatch): Settings {
    const next = { ...this.stored() };
    if (patch.apiToken !== undefined) next.apiToken = patch.apiToken;
    if (patch.namingTemplate !== undefined) {
      const problem = templateProblem(patch.namingTemplate);
      if (problem) throw new PlatformError('INVALID_SETTINGS', `namingTemplate: ${problem}`);
      next.namingTemplate = patch.namingTemplate;
      next.outputOptions = { ...this.outputOptions(), template: patch.namingTemplate };
    }
    if (patch.outputOptions !== undefined) {
      const checked = validateOptions(patch.outputOptions);
      if (!checked.ok) throw new PlatformError('INVALID_SETTINGS', checked.problems.map((p) => `${p.field}: ${p.message}`).join('; '));
      next.outputOptions = checked.options;
      next.namingTemplate = checked.options.template;
    }
    if (patch.uploadConcurrency !== undefined) {
      const n = patch.uploadConcurrency;
      if (!Number.isInteger(n) || n < UPLOAD_CONCURRENCY.min || n > UPLOAD_CONCURRENCY.max) {
        throw new PlatformError('INVALID_SETTINGS', `uploadConcurrency: a whole number from ${UPLOAD_CONCURRENCY.min} to ${UPLOAD_CONCURRENCY.max}`);
      }
      next.uploadConcurrency = n;
    }
    localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
    return this.get();
  }

  uploadTimeouts(): UploadTimeouts {
    return { ...DEFAULT_UPLOAD_TIMEOUTS, ...this.stored().uploadTimeouts };
  }

  authHeaders(): Record<string, string> {
    const token = this.stored().apiToken;
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  /** A same-origin URL carrying the token in the query, for what cannot send a header (links, EventSource). */
  withToken(path: string): string {
    const token = this.stored().apiToken;
    return token ? `${this.origin}${path}${path.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token)}` : `${this.origin}${path}`;
  }
}
