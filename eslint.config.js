// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Rooms of ARCHITECTURE.md: dependencies point one way, down the list. */
const io = ['node:http', 'node:https', 'node:net', 'node:fs', 'node:fs/promises', 'node:child_process', 'http', 'https', 'net', 'fs', 'child_process'];
const sandbox = ['**/sandbox/**'];
const kubeClient = ['@kubernetes/client-node'];
const slack = ['@slack/*'];
const queueLibs = ['bullmq', 'ioredis'];

/** @param {string[]} paths @param {string[]} patterns @param {string} room */
function forbid(paths, patterns, room) {
  return {
    files: paths,
    rules: {
      'no-restricted-imports': ['error', { patterns: patterns.map((group) => ({ group: [group], message: `${room} may not import this (see ARCHITECTURE.md, rooms).` })) }],
    },
  };
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.sandbox/**', 'eslint.config.js', 'bin/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/require-await': 'off',
    },
  },
  forbid(['src/core/**'], [...io, ...kubeClient, ...slack, ...queueLibs, ...sandbox, '**/kube/**', '**/release/**', '**/queue/**', '**/slack/**', '**/config*', '../../jobs/**'], 'src/core'),
  forbid(['src/config.ts', 'src/config/**'], [...kubeClient, ...slack, ...queueLibs, ...sandbox, '**/kube/**', '**/release/**', '**/queue/**', '**/slack/**'], 'config'),
  forbid(['src/kube/**'], [...slack, ...queueLibs, ...sandbox, '**/release/**', '**/queue/**', '**/slack/**', '**/config*'], 'src/kube'),
  forbid(['src/release/**'], [...slack, ...queueLibs, ...sandbox, '**/queue/**', '**/slack/**'], 'src/release'),
  forbid(['src/queue/**'], [...kubeClient, ...slack, ...sandbox, '**/kube/**', '**/slack/**', '**/release/**'], 'src/queue'),
  forbid(['src/slack/**'], [...kubeClient, ...sandbox, '**/kube/**', '**/release/**'], 'src/slack'),
  forbid(['jobs/**/!(worker).ts'], [...sandbox, '**/kube/**'], 'jobs'),
  forbid(['src/sandbox/**'], ['**/core/**', '**/kube/**', '**/release/**', '**/queue/**', '**/slack/**', '**/config*', '../../jobs/**'], 'src/sandbox'),
  {
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
);
