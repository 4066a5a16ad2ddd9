// Lint rules for kvsession: the recommended sets of ESLint and typescript-eslint (not type-aware, so a
// full run stays a few seconds), plus the module boundaries the layout depends on.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// What a store may use of the core: the contract, the errors and the wrapping helpers.
const STORE_MAY_IMPORT = [
  '../src/store.js',
  '../src/errors.js',
  '../src/store-decorator.js',
  '../src/guarded-store.js',
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'benchmarks/results/', '.doc-check-*/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Node's globals, for the few .mjs files (TypeScript checks names in .ts files itself).
    languageOptions: {
      globals: Object.fromEntries(
        [
          'process',
          'console',
          'URL',
          'Buffer',
          'setTimeout',
          'clearTimeout',
          'setImmediate',
          'structuredClone',
        ].map((g) => [g, 'readonly']),
      ),
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      // A variable assigned after the closure that reads it is declared cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // The core knows the store contract only (src/store-source.ts): no file of src/ imports a store or the
    // registry, except the composition roots below. The CLI (cli/) is a composition root of its own.
    files: ['src/**/*.ts'],
    ignores: ['src/index.ts', 'src/store-registry.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+stores/',
              message:
                'the core uses only the store contract; src/store-registry.ts installs the registry (stores/index.ts)',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['stores/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^\\.\\./src/(?!(${STORE_MAY_IMPORT.map((p) => p.slice('../src/'.length).replace('.', '\\.')).join('|')})$)`,
              message:
                'a store uses only the contract: src/store.ts, src/errors.ts, src/store-decorator.ts, src/guarded-store.ts',
            },
          ],
        },
      ],
    },
  },
  {
    // The conformance suite is published: it may use only what the package exports.
    files: ['conformance/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./src/(?!index\\.js$)',
              message: 'conformance/ uses only the public API, ../src/index.js',
            },
          ],
        },
      ],
    },
  },
  {
    // CommonJS fixtures prove `require('kvsession')` works: require() is their point.
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', fetch: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
