// Layout only: dprint through @effect/eslint-plugin, with the Effect monorepo's settings.
// `npm run format:check` reports, `npm run format` rewrites. Kept apart from eslint.config.mjs
// so that `npm run lint` reports bugs only.
import effect from "@effect/eslint-plugin"
import tseslint from "typescript-eslint"

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", ".bench-build/**", "bench-results/**", "nix/**", "packaging/**"] },
  {
    files: ["**/*.ts"],
    languageOptions: { parser: tseslint.parser },
    linterOptions: { noInlineConfig: true, reportUnusedDisableDirectives: "off" },
    plugins: { "@effect": effect },
    rules: {
      "@effect/dprint": [
        "error",
        {
          config: {
            indentWidth: 2,
            lineWidth: 120,
            semiColons: "asi",
            quoteStyle: "alwaysDouble",
            trailingCommas: "never",
            operatorPosition: "maintain",
            "arrowFunction.useParentheses": "force"
          }
        }
      ]
    }
  }
)
