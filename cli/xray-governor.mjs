#!/usr/bin/env node
// The `xray-governor` bin. The CLI is TypeScript; rather than ship a build step whose output
// can go stale, this launcher loads cli/main.ts through tsx's loader (a runtime dependency),
// so an installed or linked package always runs the current source.
import { tsImport } from "tsx/esm/api";

await tsImport("./main.ts", import.meta.url);
