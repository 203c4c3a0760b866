// ESLint (flat config) for `npm run lint`: type-aware rules that catch real bugs here. Layout
// (dprint, as the Effect monorepo) is checked apart, by eslint.format.config.mjs
// (`npm run format:check`, `npm run format`), so that a lint finding is always a bug to fix.
import tseslint from "typescript-eslint"
import local from "./eslint/no-floating-effect.mjs"

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", ".bench-build/**", "bench-results/**", "nix/**", "packaging/**"] },
  {
    files: ["**/*.ts"],
    extends: [tseslint.configs.base],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    linterOptions: { reportUnusedDisableDirectives: "error", noInlineConfig: true },
    plugins: { local },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "local/no-floating-effect": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-non-null-assertion": "error"
    }
  }
)
