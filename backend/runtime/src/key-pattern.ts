/**
 * REDIS_INPUT_KEY is either one key (the course runtime) or a Redis glob such
 * as `metrics:*`, which gives one handler context per matching key. Each
 * context writes to `<REDIS_OUTPUT_KEY>:<suffix>`, the suffix being the part
 * of the key the wildcards matched, so `metrics:pod-a` → `derived:pod-a`.
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
      literal += pattern[++i];
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
  readonly pattern: string;
  /** The output key for an input key that matched. */
  outputKeyFor(inputKey: string): string;
  /**
   * Whether a matching key is one of the runtime's own writes. Without this a
   * pattern like `derived*` with output `derived` would feed on its own output.
   */
  isOwnKey(key: string): boolean;
}

/** `outputKey` undefined (REDIS_OUTPUT_KEY unset): nothing is written, so no key is the runtime's own. */
export function parseKeyPattern(inputKey: string, outputKey: string | undefined): KeyPattern {
  const tokens = tokenize(inputKey);
  const isGlob = tokens.some((t) => 'wildcard' in t);
  if (!isGlob) {
    return {
      isGlob,
      pattern: inputKey,
      outputKeyFor: () => outputKey ?? '',
      isOwnKey: () => false,
    };
  }
  const first = tokens[0];
  const last = tokens[tokens.length - 1];
  const head = first && 'literal' in first ? first.literal : '';
  const tail = tokens.length > 1 && last && 'literal' in last ? last.literal : '';
  return {
    isGlob,
    pattern: inputKey,
    outputKeyFor(key) {
      const suffix = key.slice(head.length, key.length - tail.length);
      return `${outputKey}:${suffix}`;
    },
    isOwnKey: (key) => outputKey !== undefined && (key === outputKey || key.startsWith(`${outputKey}:`)),
  };
}
