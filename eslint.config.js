// ESLint: the recommended JavaScript and typescript-eslint rules, nothing stylistic (Prettier
// formats; `npm run lint` runs both, then knip for unused files, exports and dependencies).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig({ ignores: ['dist/', 'node_modules/', '.bench-out/'] }, js.configs.recommended, tseslint.configs.recommended, {
  rules: {
    // `const { __name__: _name, ...rest } = labels`: a leading underscore or a rest sibling says "unused on purpose".
    '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
  },
});
