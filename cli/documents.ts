/**
 * Reading the documents a command is given (snapshot, config): from a file or standard input,
 * as JSON or YAML, with errors that name the file and where in it the problem is.
 */
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { InputError } from "./errors.ts";

/** `-` means standard input. */
export const STDIN = "-";

function isYamlPath(path: string): boolean {
  return [".yaml", ".yml"].includes(extname(path).toLowerCase());
}

function readText(path: string, flag: string): string {
  try {
    return readFileSync(path === STDIN ? 0 : path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "it is a directory"
          : code === "EACCES"
            ? "permission denied"
            : (error as Error).message;
    throw new InputError(`cannot read ${flag} ${path}: ${why}`);
  }
}

/**
 * Reads a JSON or YAML document. YAML when the name ends in .yaml or .yml, or when `yamlAllowed`
 * and the text is not JSON (YAML is a superset of JSON, but JSON.parse is much faster on the
 * large documents snapshots can be).
 */
export function readDocument(path: string, flag: string, options: { yamlAllowed: boolean }): unknown {
  const text = readText(path, flag);
  const name = path === STDIN ? "standard input" : path;
  if (options.yamlAllowed && isYamlPath(path)) return parseYamlText(text, name, flag);
  try {
    return JSON.parse(text);
  } catch (error) {
    if (options.yamlAllowed && !/^\s*[[{]/.test(text)) return parseYamlText(text, name, flag);
    throw new InputError(`${flag} ${name} is not valid JSON: ${(error as Error).message}`);
  }
}

function parseYamlText(text: string, name: string, flag: string): unknown {
  try {
    return parseYaml(text);
  } catch (error) {
    if (error instanceof YAMLParseError) {
      throw new InputError(`${flag} ${name} is not valid YAML: ${error.message}`);
    }
    throw error;
  }
}
