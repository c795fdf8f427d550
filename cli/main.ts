/**
 * The `xray-governor` command line. Each command lives in `commands/<name>.ts` and registers
 * itself on the program; adding one is an import and a line in the list below.
 */
import { register as apply } from "./commands/apply.ts";
import { register as plan } from "./commands/plan.ts";
import { register as rollback } from "./commands/rollback.ts";
import { register as sandbox } from "./commands/sandbox.ts";
import { register as snapshot } from "./commands/snapshot.ts";
import { createProgram, run } from "./program.ts";

const program = createProgram();
for (const register of [plan, apply, rollback, sandbox, snapshot]) register(program);
await run(program, process.argv);
