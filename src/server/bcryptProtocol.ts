/**
 * The one message between joulemon and its bcrypt worker thread (bcryptWorkerCheck.ts): compare
 * a password with a bcrypt hash. Schema-typed for @effect/platform's Worker/WorkerRunner.
 */
import * as Schema from "effect/Schema"

export class BcryptCompare extends Schema.TaggedRequest<BcryptCompare>()("BcryptCompare", {
  failure: Schema.String,
  success: Schema.Boolean,
  payload: { password: Schema.String, hash: Schema.String }
}) {}
