// ESLint: the recommended JavaScript and typescript-eslint rules, nothing stylistic (Prettier
// formats; `npm run lint` runs both, then knip for unused files, exports and dependencies).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', '.bench-out/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
);
