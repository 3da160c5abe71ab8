// ESLint for the whole repository: typescript-eslint's strict, type-checked
// rules over every TypeScript project (the type information comes from the
// same tsconfig files `tsc -b` builds, found per file by the project
// service), @eslint/js's recommended rules over the few plain .mjs scripts.
// Formatting is prettier's business (.prettierrc.json): eslint-config-prettier
// switches off every rule that would argue with it.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    // Build output, dependencies and packaged apps are not sources.
    ignores: ['**/node_modules/', '**/dist/', 'desktop/release/', '**/.data/', '**/test-output/', '**/bench-results/'],
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.strictTypeChecked, tseslint.configs.stylisticTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Numbers and booleans in messages and paths read as they should; the
      // rule's point (an object printed as "[object Object]", undefined in
      // a URL) still holds for everything else.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `void promise` is how this code base says "fire and forget, on
      // purpose"; the comment beside it says why. node:test's describe/it/
      // test return promises the runner itself awaits and reports.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          ignoreVoid: true,
          allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }],
        },
      ],
      // `(x) => set.add(x)`-style one-line callbacks are idiomatic; the rule
      // still flags a void call used as a value anywhere else.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // With noUncheckedIndexedAccess every index is `T | undefined`: a `!`
      // after a regex group the pattern guarantees, `rows[0]` of a query that
      // returns exactly one row or an index inside checked bounds is a claim
      // the line above proves, and a runtime check there would be dead code.
      // no-unnecessary-type-assertion still flags a `!` that changes nothing.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // An `async` method that does not await (a store whose put is
      // synchronous, a no-op close) keeps its interface's contract: errors
      // reject instead of throwing. Dropping `async` to please the rule
      // would change that; await-thenable and no-floating-promises remain.
      '@typescript-eslint/require-await': 'off',
      // Passing on what was caught or aborted (a stream's error, a signal's
      // reason) unchanged is right; rejecting with a literal is still caught.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // `||` on a string means "empty counts as absent" (an env var set to
      // '', a blank stderr): that is why it is there, not a mistake.
      '@typescript-eslint/prefer-nullish-coalescing': ['error', { ignorePrimitives: { string: true } }],
      // `if (!card || card.status !== 'x') return` reads as the guard it is;
      // the rule's `card?.status !== 'x'` hides that a missing card passes.
      '@typescript-eslint/prefer-optional-chain': 'off',
      // An unused parameter often documents an interface's shape (an
      // Express error handler needs all four); a leading underscore says so.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests assert on what the code under test really returns, which is
    // what its types promise only when the code is right: a `?.` on a value
    // typed as present turns the bug the test hunts into an assertion
    // failure instead of a TypeError. Helpers such as getJson<T>() return
    // parsed JSON as the shape the test then checks field by field.
    files: ['**/test/**/*.ts', '**/bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-unnecessary-type-parameters': 'off',
      // The same reason: String(x) and `${x}` of a value typed as a string
      // print what really came back when it is not one.
      '@typescript-eslint/no-unnecessary-type-conversion': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    // The build and test scripts are plain Node ES modules.
    files: ['**/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
  },
  prettier,
);
