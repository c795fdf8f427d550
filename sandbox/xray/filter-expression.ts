/**
 * The subset of X-Ray's trace filter expressions the sandbox understands, parsed properly:
 *
 *   expression := or
 *   or         := and (("OR" | "||") and)*
 *   and        := unary (("AND" | "&&") unary)*
 *   unary      := ("NOT" | "!") unary | "(" expression ")" | predicate
 *   predicate  := "service" "(" STRING ")"
 *              |  flag [("=" | "!=") ("true" | "false")]          flag: ok error fault throttle
 *              |  number-field op NUMBER                          http.status responsetime duration
 *              |  string-field op STRING                          http.url http.method http.useragent http.clientip
 *
 * String operators are = != CONTAINS BEGINSWITH ENDSWITH; number operators = != < <= > >=.
 * Keywords are case-insensitive. Anything else is refused the way X-Ray refuses it: an
 * InvalidRequestException naming the problem and where it is.
 *
 * Hand-written: the grammar is a dozen lines, and no parser library on npm knows X-Ray's
 * filter language; a grammar in a parser generator would be longer than this parser.
 */
import { invalidRequest } from "../service-error.ts";

/** The facts about a trace a filter can test. */
export interface FilterableTrace {
  services: readonly string[];
  url: string;
  method: string;
  status: number;
  userAgent: string;
  clientIp: string;
  responseTime: number;
  duration: number;
  ok: boolean;
  error: boolean;
  fault: boolean;
  throttle: boolean;
}

export type TraceFilter = (trace: FilterableTrace) => boolean;

type Token =
  | { kind: "word"; text: string; at: number }
  | { kind: "string"; text: string; at: number }
  | { kind: "number"; value: number; at: number }
  | { kind: "symbol"; text: string; at: number }
  | { kind: "end"; at: number };

const FLAGS = new Set(["ok", "error", "fault", "throttle"]);
const NUMBER_FIELDS: Record<string, (t: FilterableTrace) => number> = {
  "http.status": (t) => t.status,
  responsetime: (t) => t.responseTime,
  duration: (t) => t.duration,
};
const STRING_FIELDS: Record<string, (t: FilterableTrace) => string> = {
  "http.url": (t) => t.url,
  "http.method": (t) => t.method,
  "http.useragent": (t) => t.userAgent,
  "http.clientip": (t) => t.clientIp,
};
const STRING_OPERATORS = new Set(["=", "!=", "contains", "beginswith", "endswith"]);
const NUMBER_OPERATORS = new Set(["=", "!=", "<", "<=", ">", ">="]);

/** Compiles a filter expression, or throws InvalidRequestException. */
export function compileFilterExpression(expression: string): TraceFilter {
  const parser = new Parser(tokenize(expression));
  const filter = parser.expression();
  parser.expectEnd();
  return filter;
}

function fail(message: string, at: number): never {
  throw invalidRequest(`Invalid filter expression: ${message} at position ${at + 1}`);
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '"') {
      const at = i;
      let text = "";
      i++;
      while (i < source.length && source[i] !== '"') {
        if (source[i] === "\\" && i + 1 < source.length) i++;
        text += source[i++];
      }
      if (i >= source.length) fail("unterminated string", at);
      i++;
      tokens.push({ kind: "string", text, at });
    } else if (/[0-9]/.test(ch) || (ch === "-" && /[0-9]/.test(source[i + 1] ?? ""))) {
      const match = /^-?[0-9]+(\.[0-9]+)?/.exec(source.slice(i));
      tokens.push({ kind: "number", value: Number(match?.[0]), at: i });
      i += match?.[0].length ?? 1;
    } else if (/[A-Za-z_]/.test(ch)) {
      const match = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(source.slice(i));
      const text = match?.[0] ?? ch;
      tokens.push({ kind: "word", text, at: i });
      i += text.length;
    } else {
      const two = source.slice(i, i + 2);
      if (["!=", "<=", ">=", "&&", "||"].includes(two)) {
        tokens.push({ kind: "symbol", text: two, at: i });
        i += 2;
      } else if ("=<>()!{}".includes(ch)) {
        tokens.push({ kind: "symbol", text: ch, at: i });
        i++;
      } else {
        fail(`unexpected character '${ch}'`, i);
      }
    }
  }
  tokens.push({ kind: "end", at: source.length });
  return tokens;
}

class Parser {
  private index = 0;

  constructor(private readonly tokens: Token[]) {}

  expression(): TraceFilter {
    let left = this.and();
    while (this.acceptWord("or") || this.acceptSymbol("||")) {
      const a = left;
      const b = this.and();
      left = (t) => a(t) || b(t);
    }
    return left;
  }

  expectEnd(): void {
    const token = this.peek();
    if (token.kind !== "end") fail(`unexpected ${describe(token)}`, token.at);
  }

  private and(): TraceFilter {
    let left = this.unary();
    while (this.acceptWord("and") || this.acceptSymbol("&&")) {
      const a = left;
      const b = this.unary();
      left = (t) => a(t) && b(t);
    }
    return left;
  }

  private unary(): TraceFilter {
    if (this.acceptWord("not") || this.acceptSymbol("!")) {
      const inner = this.unary();
      return (t) => !inner(t);
    }
    if (this.acceptSymbol("(")) {
      const inner = this.expression();
      this.expectSymbol(")");
      return inner;
    }
    return this.predicate();
  }

  private predicate(): TraceFilter {
    const token = this.next();
    if (token.kind !== "word") fail(`expected a keyword, got ${describe(token)}`, token.at);
    const keyword = token.text.toLowerCase();
    if (keyword === "service") {
      this.expectSymbol("(");
      const name = this.next();
      if (name.kind !== "string") fail("service() takes a quoted service name", name.at);
      this.expectSymbol(")");
      if (this.peekSymbol("{"))
        fail("service() { … } sub-filters are not supported by the sandbox", this.peek().at);
      return (t) => t.services.includes(name.text);
    }
    if (FLAGS.has(keyword)) {
      const flag = keyword as "ok" | "error" | "fault" | "throttle";
      const operator = this.peek();
      if (operator.kind === "symbol" && (operator.text === "=" || operator.text === "!=")) {
        this.next();
        const value = this.next();
        if (value.kind !== "word" || !["true", "false"].includes(value.text.toLowerCase())) {
          fail(`${keyword} compares only with true or false`, value.at);
        }
        const wanted = (value.text.toLowerCase() === "true") === (operator.text === "=");
        return (t) => t[flag] === wanted;
      }
      return (t) => t[flag];
    }
    if (keyword in NUMBER_FIELDS) {
      const read = NUMBER_FIELDS[keyword];
      const operator = this.operator(NUMBER_OPERATORS, keyword);
      const value = this.next();
      if (value.kind !== "number") fail(`${keyword} compares with a number`, value.at);
      const v = value.value;
      switch (operator) {
        case "=":
          return (t) => read(t) === v;
        case "!=":
          return (t) => read(t) !== v;
        case "<":
          return (t) => read(t) < v;
        case "<=":
          return (t) => read(t) <= v;
        case ">":
          return (t) => read(t) > v;
        default:
          return (t) => read(t) >= v;
      }
    }
    if (keyword in STRING_FIELDS) {
      const read = STRING_FIELDS[keyword];
      const operator = this.operator(STRING_OPERATORS, keyword);
      const value = this.next();
      if (value.kind !== "string") fail(`${keyword} compares with a quoted string`, value.at);
      const v = value.text;
      switch (operator) {
        case "=":
          return (t) => read(t) === v;
        case "!=":
          return (t) => read(t) !== v;
        case "contains":
          return (t) => read(t).includes(v);
        case "beginswith":
          return (t) => read(t).startsWith(v);
        default:
          return (t) => read(t).endsWith(v);
      }
    }
    return fail(`unknown or unsupported keyword '${token.text}'`, token.at);
  }

  private operator(allowed: Set<string>, keyword: string): string {
    const token = this.next();
    const text = token.kind === "symbol" ? token.text : token.kind === "word" ? token.text.toLowerCase() : "";
    if (!allowed.has(text)) fail(`${describe(token)} is not an operator ${keyword} supports`, token.at);
    return text;
  }

  private peek(): Token {
    return this.tokens[this.index];
  }

  private next(): Token {
    const token = this.tokens[this.index];
    if (token.kind !== "end") this.index++;
    return token;
  }

  private peekSymbol(text: string): boolean {
    const token = this.peek();
    return token.kind === "symbol" && token.text === text;
  }

  private acceptSymbol(text: string): boolean {
    if (!this.peekSymbol(text)) return false;
    this.index++;
    return true;
  }

  private acceptWord(word: string): boolean {
    const token = this.peek();
    if (token.kind !== "word" || token.text.toLowerCase() !== word) return false;
    this.index++;
    return true;
  }

  private expectSymbol(text: string): void {
    const token = this.next();
    if (token.kind !== "symbol" || token.text !== text)
      fail(`expected '${text}', got ${describe(token)}`, token.at);
  }
}

function describe(token: Token): string {
  switch (token.kind) {
    case "end":
      return "the end of the expression";
    case "number":
      return `number ${token.value}`;
    case "string":
      return `string "${token.text}"`;
    default:
      return `'${token.text}'`;
  }
}
