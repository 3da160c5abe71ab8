/**
 * REDIS_INPUT_KEY is either one key (the course runtime) or a Redis glob such
 * as `metrics:*`, which gives one handler context per matching key. Each
 * context writes to `<REDIS_OUTPUT_KEY>:<suffix>`, the suffix being the part
 * of the key the wildcards matched, so `metrics:pod-a` → `derived:pod-a`.
 * METRICS_KEY_PREFIX goes before both, so two installations share a Redis:
 * `staging:metrics:pod-a` → `staging:derived:pod-a`.
 */

type Token = { literal: string } | { wildcard: string };

/** Splits a Redis glob into literal runs and wildcards (`*`, `?`, `[...]`), honouring `\` escapes. */
function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  let literal = '';
  const flush = () => {
    if (literal !== '') tokens.push({ literal });
    literal = '';
  };
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\' && i + 1 < pattern.length) {
      literal += pattern[++i]!;
    } else if (ch === '*' || ch === '?') {
      flush();
      tokens.push({ wildcard: ch });
    } else if (ch === '[') {
      // Redis treats an unterminated class as a literal '['.
      let j = i + 1;
      if (pattern[j] === '^') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j += pattern[j] === '\\' ? 2 : 1;
      if (j >= pattern.length) {
        literal += ch;
      } else {
        flush();
        tokens.push({ wildcard: pattern.slice(i, j + 1) });
        i = j;
      }
    } else {
      literal += ch;
    }
  }
  flush();
  return tokens;
}

export interface KeyPattern {
  readonly isGlob: boolean;
  /** What SCAN matches: the prefix (escaped) and REDIS_INPUT_KEY. */
  readonly pattern: string;
  /** The key a single-key runtime reads: the prefix and REDIS_INPUT_KEY. */
  readonly inputKey: string;
  /** The prefix and REDIS_OUTPUT_KEY; undefined when nothing is written. */
  readonly outputKey: string | undefined;
  /** The output key for an input key that matched. */
  outputKeyFor(inputKey: string): string;
  /**
   * Whether a matching key is one of the runtime's own writes. Without this a
   * pattern like `derived*` with output `derived` would feed on its own output.
   */
  isOwnKey(key: string): boolean;
}

/** `text` with Redis glob characters escaped, so that as a pattern it matches only itself. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\\]/g, '\\$&');
}

/**
 * `outputKey` undefined (REDIS_OUTPUT_KEY unset): nothing is written, so no key is the runtime's own.
 * `prefix` (METRICS_KEY_PREFIX) goes before both keys, literally: its glob characters match only themselves,
 * and a glob's suffix is what the wildcards matched after it.
 */
export function parseKeyPattern(inputKey: string, outputKey: string | undefined, prefix = ''): KeyPattern {
  const pattern = escapeGlob(prefix) + inputKey;
  const fullOutput = outputKey === undefined ? undefined : prefix + outputKey;
  const tokens = tokenize(pattern);
  const isGlob = tokens.some((t) => 'wildcard' in t);
  if (!isGlob) {
    return {
      isGlob,
      pattern,
      inputKey: prefix + inputKey,
      outputKey: fullOutput,
      outputKeyFor: () => fullOutput ?? '',
      isOwnKey: () => false,
    };
  }
  const first = tokens[0];
  const last = tokens[tokens.length - 1];
  const head = first && 'literal' in first ? first.literal : '';
  const tail = tokens.length > 1 && last && 'literal' in last ? last.literal : '';
  return {
    isGlob,
    pattern,
    inputKey: pattern,
    outputKey: fullOutput,
    outputKeyFor(key) {
      const suffix = key.slice(head.length, key.length - tail.length);
      return `${fullOutput}:${suffix}`;
    },
    isOwnKey: (key) => fullOutput !== undefined && (key === fullOutput || key.startsWith(`${fullOutput}:`)),
  };
}
