/**
 * The batch's output options panel: box presets or a custom box within the
 * server's limits, fit and crop position, enlarge, format and its quality,
 * the JPEG-only choices, metadata, naming, folders and collisions. Every
 * change is validated with the shared schema against the connected server's
 * config (the offline one when not connected), so what the panel accepts is
 * what the server accepts; valid options go to the store (the cards' sizes
 * follow) and to the settings (remembered), refused ones are shown on the
 * field at fault and change nothing.
 */
import {
  DEFAULT_QUALITY,
  MAX_BYTES_FORMATS,
  OUTPUT_FORMATS,
  sizeModeOf,
  type OptionsProblem,
  type OutputFormat,
  type OutputOptions,
  type SizeMode,
} from '@imgfleet/backend/contract/output-options';
import { OFFLINE_CONFIG, validateOptions } from '../../shared/server-config.js';
import type { ServerConfig } from '../platform/platform.js';
import { h, setText, show } from '../ui/dom.js';

const FORMAT_LABELS: Record<OutputFormat, string> = { jpeg: 'JPEG', webp: 'WebP', avif: 'AVIF', png: 'PNG' };
const CUSTOM = 'custom';
/** The ways to size, in plain words. */
const MODE_LABELS: readonly [SizeMode, string][] = [
  ['box', 'Box (width × height)'],
  ['longEdge', 'Long edge'],
  ['width', 'Width only'],
  ['height', 'Height only'],
  ['scale', 'Percent'],
];
/** maxBytes is asked in kilobytes (1000 bytes, as file managers show them). */
const KB = 1000;
/** Screens where the panel starts folded (a phone held upright is 360–430 px wide). */
const NARROW_SCREEN = '(max-width: 600px)';

type Field = HTMLInputElement | HTMLSelectElement;

function select(name: string, choices: readonly [string, string][]): HTMLSelectElement {
  return h('select', { name }, ...choices.map(([value, label]) => h('option', { value }, label)));
}

function row(label: string, ...controls: (Node | null)[]): HTMLLabelElement {
  return h('label', { class: 'option' }, h('span', { class: 'option-label' }, label), ...controls);
}

function checkbox(name: string, label: string): { row: HTMLLabelElement; input: HTMLInputElement } {
  const input = h('input', { type: 'checkbox', name });
  return { row: h('label', { class: 'option check' }, input, h('span', {}, label)), input };
}

export class OptionsPanel {
  private config: ServerConfig = OFFLINE_CONFIG;
  private current: OutputOptions;
  /** The quality chosen for each format, so switching formats and back keeps each one's. */
  private readonly qualities: Record<OutputFormat, number> = { ...DEFAULT_QUALITY };
  private problems: OptionsProblem[] = [];
  private readonly form: HTMLFormElement;
  private readonly fields: Record<string, Field> = {};
  private readonly summary: HTMLElement;
  private readonly limitsText: HTMLElement;
  private readonly errorText: HTMLElement;
  private readonly jpegOnly: HTMLElement[] = [];
  /** Rows shown for one size mode only. */
  private readonly byMode: { element: HTMLElement; modes: SizeMode[] }[] = [];
  // Set by build() (called from the constructor).
  private qualityRow: HTMLElement = h('span');
  private targetRow: HTMLElement = h('span');
  private sizeByRow: HTMLElement = h('span');

  constructor(
    root: HTMLElement,
    initial: OutputOptions,
    private readonly onValid: (options: OutputOptions) => void,
  ) {
    this.current = initial;
    this.qualities[initial.format] = initial.quality;
    this.summary = h('span', { id: 'options-summary' });
    this.limitsText = h('small', { id: 'options-limits', class: 'muted' });
    this.errorText = h('p', { id: 'options-error', class: 'error-text', role: 'alert', hidden: true });
    this.form = h('form', { id: 'options-form', novalidate: true });
    this.build();
    // Folded on a narrow screen: open, the panel would fill a phone's first screen.
    const narrow = typeof matchMedia === 'function' && matchMedia(NARROW_SCREEN).matches;
    root.replaceChildren(h('details', { open: !narrow }, h('summary', {}, 'Output options: ', this.summary), this.form, this.limitsText, this.errorText));
    this.form.addEventListener('change', (event) => this.onChange(event.target as Field));
    this.form.addEventListener('submit', (event) => event.preventDefault());
    this.write(initial);
    this.applyConfig();
  }

  /** The options uploads and local resizes use now; null while the form holds a refused value. */
  get options(): OutputOptions | null {
    return this.problems.length === 0 ? this.current : null;
  }

  get problemText(): string {
    return this.problems.map((p) => `${p.field}: ${p.message}`).join('; ');
  }

  /** A server's limits (or the offline ones): the form's choices and checks follow them. */
  setConfig(config: ServerConfig): void {
    this.config = config;
    this.applyConfig();
    this.validate({ ...this.current });
  }

  /** Settings read again (another window changed them): shown unless the person is mid-edit with a refused value. */
  setOptions(options: OutputOptions): void {
    if (this.problems.length > 0) return;
    this.current = options;
    this.qualities[options.format] = options.quality;
    this.write(options);
  }

  private build(): void {
    const f = this.fields;
    f.mode = select('mode', MODE_LABELS);
    f.preset = select('preset', []);
    f.width = h('input', { type: 'number', name: 'width', min: 1, step: 1, inputmode: 'numeric' });
    f.height = h('input', { type: 'number', name: 'height', min: 1, step: 1, inputmode: 'numeric' });
    f.longEdge = h('input', { type: 'number', name: 'longEdge', min: 1, step: 1, inputmode: 'numeric' });
    f.scale = h('input', { type: 'number', name: 'scale', min: 0.1, max: 1000, step: 'any', inputmode: 'decimal' });
    f.sizeBy = select('sizeBy', [
      ['quality', 'Quality'],
      ['target', 'Target size'],
    ]);
    f.maxKB = h('input', {
      type: 'number',
      name: 'maxKB',
      min: 2,
      step: 1,
      inputmode: 'numeric',
      title: 'The highest quality whose file is at most this size',
    });
    f.fit = select('fit', [
      ['inside', 'Fit inside (keep aspect)'],
      ['cover', 'Cover (fill and crop)'],
    ]);
    f.position = select('position', [
      ['centre', 'Centre'],
      ['attention', 'Attention (detail, faces)'],
    ]);
    const enlarge = checkbox('enlarge', 'Enlarge smaller photos');
    f.enlarge = enlarge.input;
    f.format = select('format', []);
    f.quality = h('input', { type: 'number', name: 'quality', min: 1, max: 100, step: 1, inputmode: 'numeric' });
    const progressive = checkbox('progressive', 'Progressive');
    const mozjpeg = checkbox('mozjpeg', 'mozjpeg optimisation');
    f.progressive = progressive.input;
    f.mozjpeg = mozjpeg.input;
    f.background = h('input', { type: 'color', name: 'background' });
    f.metadata = select('metadata', [
      ['strip', 'Strip all'],
      ['keep', 'Keep dates and copyright'],
    ]);
    const keepGps = checkbox('keepGps', 'Also keep GPS position');
    f.keepGps = keepGps.input;
    f.template = h('input', { type: 'text', name: 'template', spellcheck: false, title: '{name} {ext} {w} {h} {format} {batch} {index} {id}' });
    const keepFolders = checkbox('keepFolders', 'Keep folder structure');
    f.keepFolders = keepFolders.input;
    f.collision = select('collision', [
      ['suffix', 'Add " (1)"'],
      ['skip', 'Skip the file'],
      ['overwrite', 'Overwrite'],
    ]);
    const background = row('Background', f.background);
    this.jpegOnly.push(progressive.row, mozjpeg.row, background);
    const sized = (element: HTMLElement, ...modes: SizeMode[]): HTMLElement => {
      this.byMode.push({ element, modes });
      return element;
    };
    this.sizeByRow = row('Set by', f.sizeBy);
    this.qualityRow = row('Quality', f.quality);
    this.targetRow = row('At most (KB)', f.maxKB);
    this.form.replaceChildren(
      h(
        'fieldset',
        {},
        h('legend', {}, 'Size'),
        row('Resize by', f.mode),
        sized(row('Box', f.preset), 'box'),
        sized(row('Width', f.width), 'box', 'width'),
        sized(row('Height', f.height), 'box', 'height'),
        sized(row('Long edge', f.longEdge), 'longEdge'),
        sized(row('Percent', f.scale), 'scale'),
        sized(row('Fit', f.fit), 'box'),
        sized(row('Crop', f.position), 'box'),
        enlarge.row,
      ),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Format'),
        row('Format', f.format),
        this.sizeByRow,
        this.qualityRow,
        this.targetRow,
        progressive.row,
        mozjpeg.row,
        background,
      ),
      h('fieldset', {}, h('legend', {}, 'Metadata'), row('Metadata', f.metadata), keepGps.row),
      h('fieldset', {}, h('legend', {}, 'Files'), row('Names', f.template), keepFolders.row, row('Name taken', f.collision)),
    );
  }

  private applyConfig(): void {
    const { limits, presets } = this.config;
    const presetSelect = this.fields.preset as HTMLSelectElement;
    const fitting = presets.filter((p) => p.width <= limits.maxWidth && p.height <= limits.maxHeight);
    presetSelect.replaceChildren(...fitting.map((p) => h('option', { value: `${p.width}x${p.height}` }, p.label)), h('option', { value: CUSTOM }, 'Custom…'));
    (this.fields.width as HTMLInputElement).max = String(limits.maxWidth);
    (this.fields.height as HTMLInputElement).max = String(limits.maxHeight);
    const formats = OUTPUT_FORMATS.filter((f) => limits.formats.includes(f));
    (this.fields.format as HTMLSelectElement).replaceChildren(...formats.map((f) => h('option', { value: f }, FORMAT_LABELS[f])));
    const source = this.config.source === 'server' ? `this server (${this.config.version})` : 'offline defaults';
    setText(
      this.limitsText,
      `Limits from ${source}: box up to ${limits.maxWidth} × ${limits.maxHeight}; formats ${formats.map((f) => FORMAT_LABELS[f]).join(', ')}.`,
    );
    this.write(this.current);
  }

  private onChange(target: Field): void {
    const raw = this.read();
    if (target.name === 'mode') Object.assign(raw, this.startOfMode(target.value as SizeMode));
    if (target.name === 'sizeBy') raw.maxBytes = target.value === 'target' ? (this.current.maxBytes ?? 500 * KB) : null;
    if (target.name === 'preset' && target.value !== CUSTOM) {
      const [w, h2] = target.value.split('x').map(Number);
      raw.width = w;
      raw.height = h2;
    }
    if (target.name === 'format')
      raw.quality =
        typeof raw.format === 'string' && Object.hasOwn(this.qualities, raw.format) ? this.qualities[raw.format as OutputFormat] : DEFAULT_QUALITY.jpeg;
    // PNG has no quality to trade for size: a target size ends with it.
    if (target.name === 'format' && !MAX_BYTES_FORMATS.includes(raw.format as OutputFormat)) raw.maxBytes = null;
    if (target.name === 'metadata' && raw.metadata !== 'keep') raw.keepGps = false;
    this.validate(raw);
  }

  private validate(raw: Record<string, unknown>): void {
    const checked = validateOptions(raw, this.config);
    for (const field of Object.values(this.fields)) field.removeAttribute('aria-invalid');
    if (!checked.ok) {
      this.problems = checked.problems;
      for (const problem of checked.problems) this.fields[problem.field]?.setAttribute('aria-invalid', 'true');
      setText(this.errorText, this.problemText);
      show(this.errorText, true);
      this.form.dataset.valid = 'false';
      this.syncDependent(raw);
      return;
    }
    this.problems = [];
    show(this.errorText, false);
    this.form.dataset.valid = 'true';
    this.current = checked.options;
    this.qualities[checked.options.format] = checked.options.quality;
    this.write(checked.options);
    this.onValid(checked.options);
  }

  /** A mode just chosen starts from the current size where it can: the box's long side, 50 %. */
  private startOfMode(mode: SizeMode): Record<string, unknown> {
    const c = this.current;
    const side = Math.max(c.width ?? 0, c.height ?? 0, c.longEdge ?? 0) || 1920;
    const none = { width: null, height: null, longEdge: null, scale: null, fit: 'inside' };
    switch (mode) {
      case 'box':
        return { ...none, width: c.width ?? side, height: c.height ?? Math.round((side * 3) / 4), fit: c.fit };
      case 'width':
        return { ...none, width: c.width ?? side };
      case 'height':
        return { ...none, height: c.height ?? side };
      case 'longEdge':
        return { ...none, longEdge: side };
      case 'scale':
        return { ...none, scale: c.scale ?? 50 };
    }
  }

  /** The form's values as the schema's input (numbers as numbers, checkboxes as booleans); only the chosen mode's size fields. */
  private read(): Record<string, unknown> {
    const f = this.fields;
    const number = (field: Field): number => (field.value.trim() === '' ? Number.NaN : Number(field.value));
    const checked = (field: Field): boolean => (field as HTMLInputElement).checked;
    const mode = f.mode!.value as SizeMode;
    const pick = (name: 'width' | 'height' | 'longEdge' | 'scale', modes: SizeMode[]): number | null => (modes.includes(mode) ? number(f[name]!) : null);
    return {
      width: pick('width', ['box', 'width']),
      height: pick('height', ['box', 'height']),
      longEdge: pick('longEdge', ['longEdge']),
      scale: pick('scale', ['scale']),
      maxBytes: f.sizeBy!.value === 'target' ? Math.round(number(f.maxKB!) * KB) : null,
      fit: mode === 'box' ? f.fit!.value : 'inside',
      position: f.position!.value,
      enlarge: checked(f.enlarge!),
      format: f.format!.value,
      quality: number(f.quality!),
      progressive: checked(f.progressive!),
      mozjpeg: checked(f.mozjpeg!),
      background: f.background!.value,
      metadata: f.metadata!.value,
      keepGps: checked(f.keepGps!),
      template: f.template!.value,
      keepFolders: checked(f.keepFolders!),
      collision: f.collision!.value,
    };
  }

  private write(options: OutputOptions): void {
    const f = this.fields;
    const preset = `${options.width}x${options.height}`;
    const presetSelect = f.preset as HTMLSelectElement;
    presetSelect.value = [...presetSelect.options].some((o) => o.value === preset) ? preset : CUSTOM;
    f.mode!.value = sizeModeOf(options);
    // A field of another mode keeps what it showed, so switching back finds it.
    for (const name of ['width', 'height', 'longEdge', 'scale', 'quality'] as const) if (options[name] != null) f[name]!.value = String(options[name]);
    f.sizeBy!.value = options.maxBytes != null ? 'target' : 'quality';
    if (options.maxBytes != null) f.maxKB!.value = String(Math.round(options.maxBytes / KB));
    for (const name of ['fit', 'position', 'format', 'metadata', 'template', 'collision'] as const) f[name]!.value = options[name];
    // <input type=color> knows only #rrggbb.
    f.background!.value = options.background.length === 4 ? `#${Array.from(options.background.slice(1), (c) => c + c).join('')}` : options.background;
    for (const name of ['enlarge', 'progressive', 'mozjpeg', 'keepGps', 'keepFolders'] as const) (f[name] as HTMLInputElement).checked = options[name];
    this.syncDependent(options);
    const quality = options.maxBytes != null ? `at most ${Math.round(options.maxBytes / KB)} KB` : String(options.quality);
    setText(this.summary, `${sizeSummary(options)}, ${FORMAT_LABELS[options.format]} ${quality}, metadata ${options.metadata}`);
  }

  /** Choices that only mean something with another: crop position with cover, JPEG's own, GPS with keep. */
  private syncDependent(options: Record<string, unknown> | OutputOptions): void {
    (this.fields.position as HTMLSelectElement).disabled = options.fit !== 'cover';
    (this.fields.keepGps as HTMLInputElement).disabled = options.metadata !== 'keep';
    for (const element of this.jpegOnly) show(element, options.format === 'jpeg');
    const mode = this.fields.mode!.value as SizeMode;
    for (const { element, modes } of this.byMode) show(element, modes.includes(mode));
    const lossy = MAX_BYTES_FORMATS.includes(options.format as OutputFormat);
    const target = lossy && this.fields.sizeBy!.value === 'target';
    show(this.sizeByRow, lossy);
    show(this.targetRow, target);
    const label = this.qualityRow.querySelector('.option-label');
    if (label) setText(label, target ? 'Highest quality' : 'Quality');
  }
}

/** "1920 × 1080 inside", "long edge 2048", "width 1000", "50 %". */
function sizeSummary(o: OutputOptions): string {
  switch (sizeModeOf(o)) {
    case 'longEdge':
      return `long edge ${o.longEdge}`;
    case 'width':
      return `width ${o.width}`;
    case 'height':
      return `height ${o.height}`;
    case 'scale':
      return `${o.scale} %`;
    case 'box':
      return `${o.width} × ${o.height} ${o.fit === 'cover' ? 'cover' : 'inside'}`;
  }
}
