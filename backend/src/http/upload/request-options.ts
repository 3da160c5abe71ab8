/**
 * A request's output options: query parameters of the option names, and/or
 * a multipart text field `options` (JSON) sent before the files; the field
 * wins where both name an option. Judged by the one shared schema against
 * this server's limits and defaults; anything wrong is a 422 naming each
 * field, raised before a single file is stored.
 */
import { outputOptionsFromQuery, parseOutputOptions, type OutputOptions, type OutputOptionsSchema } from '../../contract/output-options.js';
import { HttpError } from '../errors.js';

export function invalidOptions(problems: { field: string; message: string }[]): HttpError {
  const list = problems.map((p) => `${p.field}: ${p.message}`).join('; ');
  return new HttpError(422, 'INVALID_OPTIONS', `invalid output options (${list})`, { problems });
}

export class RequestOptions {
  private readonly fromQuery: Record<string, unknown>;
  private fromField: Record<string, unknown> | undefined;
  private resolved: OutputOptions | undefined;

  constructor(
    private readonly schema: OutputOptionsSchema,
    query: Readonly<Record<string, unknown>>,
  ) {
    this.fromQuery = outputOptionsFromQuery(query);
    // Judged at once: a bad query parameter is refused before the body is read.
    const parsed = parseOutputOptions(this.fromQuery, schema);
    if (!parsed.ok) throw invalidOptions(parsed.problems);
  }

  /** The `options` field arrived. */
  field(raw: string): void {
    if (this.resolved) throw invalidOptions([{ field: 'options', message: 'the options field must come before the files' }]);
    if (this.fromField) throw invalidOptions([{ field: 'options', message: 'the options field was sent twice' }]);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw invalidOptions([{ field: 'options', message: 'not valid JSON' }]);
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      throw invalidOptions([{ field: 'options', message: 'must be a JSON object of option names' }]);
    }
    this.fromField = value as Record<string, unknown>;
    this.options();
  }

  /** The options every file of the request is made with (fixed from the first file on). */
  options(): OutputOptions {
    if (!this.resolved) {
      const parsed = parseOutputOptions({ ...this.fromQuery, ...this.fromField }, this.schema);
      if (!parsed.ok) throw invalidOptions(parsed.problems);
      this.resolved = parsed.options;
    }
    return this.resolved;
  }
}
