/**
 * An Effect used as a statement does nothing: it is a description of work that nobody runs
 * (`Effect.log("x")` instead of `yield* Effect.log("x")`, `Ref.set(r, 1)` in a generator).
 * typescript-eslint's no-floating-promises cannot see this, because an Effect is not a
 * thenable; this rule reports an expression statement whose type is an Effect (anything
 * carrying Effect's type id, so also Option, Either, Exit and Context tags, all of which are
 * equally useless as statements; not fibers, which are already running). `void expr` marks a
 * deliberate discard.
 */
import { ESLintUtils } from "@typescript-eslint/utils"

const hasTypeId = (type, id) => type.getProperties().some((p) => p.getName().startsWith(`__@${id}`))

/** A running fiber (what Effect.runFork returns) is also an Effect, but dropping it is fine. */
const isEffect = (type) => {
  if (type.isUnion()) return type.types.some(isEffect)
  return hasTypeId(type, "EffectTypeId") && !hasTypeId(type, "FiberTypeId")
}

export const noFloatingEffect = ESLintUtils.RuleCreator.withoutDocs({
  meta: {
    type: "problem",
    messages: {
      floating: "This Effect is created and dropped: yield* it, return it, or run it (void marks a deliberate discard)."
    },
    schema: []
  },
  defaultOptions: [],
  create(context) {
    const services = ESLintUtils.getParserServices(context)
    return {
      ExpressionStatement(node) {
        const e = node.expression
        if (e.type === "YieldExpression" || e.type === "AwaitExpression" || e.type === "AssignmentExpression") return
        if (e.type === "UnaryExpression" && e.operator === "void") return
        if (isEffect(services.getTypeAtLocation(e))) context.report({ node, messageId: "floating" })
      }
    }
  }
})

export default { rules: { "no-floating-effect": noFloatingEffect } }
