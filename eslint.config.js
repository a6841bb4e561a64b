// ESLint (flat config): typescript-eslint's strict, type-checked rules over the TypeScript sources.
// Formatting is Prettier's job (eslint-config-prettier turns off every rule that would fight it);
// the layers and cycles are dependency-cruiser's (.dependency-cruiser.cjs). Both run in `npm run lint`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'man/**',
      'docs/**',
      'examples/**',
      'scripts/**',
      'bench/**',
      '**/*.mjs',
      '**/*.cjs',
      '**/*.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { project: ['./tsconfig.eslint.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Numbers and booleans print as expected in a message; objects and nullish values do not.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // With noUncheckedIndexedAccess, `xs[i]!` right after a bounds check is the idiom; every other undefined must be handled.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // An async function that returns a value keeps the Promise type its interface asks for.
      '@typescript-eslint/require-await': 'off',
      // Escaping control characters from hostile guests is the point of the regexes that match them.
      'no-control-regex': 'off',
      // Widths and escapes walk strings by code point on purpose ([...s]).
      '@typescript-eslint/no-misused-spread': 'off',
      // `(x) => log(x)` as a callback is this codebase's style; a void value used anywhere else is still an error.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Tests: hostile inputs, crashes on purpose (throw 'weird'), JSON read back, `() => expect(…)`.
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/only-throw-error': 'off',
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-misused-spread': 'off',
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      '@typescript-eslint/no-meaningless-void-operator': 'off',
      '@typescript-eslint/no-unnecessary-type-conversion': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    // dns.*: realguests converts these checks (issue 12); until then the old shape is allowed here.
    files: ['src/checks/dns/**'],
    rules: { '@typescript-eslint/no-deprecated': 'off' },
  },
  prettier,
);
