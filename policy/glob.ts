/**
 * Path patterns of policy rules: `**` matches any run of characters including `/`, `*` any
 * run within one path segment, `?` one character of a segment, `[…]` a character class
 * (`[!…]` or `[^…]` negated, `a-z` ranges). Patterns are absolute and match the whole path.
 *
 * Every character is matched, newlines and other control characters included: a path with a
 * newline in it cannot slip past a `**` rule. Matching walks the path once, tracking every
 * pattern position at once (no backtracking), so its time is linear in the path's length.
 *
 * @module
 */

/** A pattern that cannot be compiled, e.g. the reversed range of `[z-a]`. */
export class GlobError extends Error {
  /** The pattern as written. */
  readonly pattern: string;

  /** A problem of `pattern`, said in `message`. */
  constructor(pattern: string, message: string) {
    super(message);
    this.name = "GlobError";
    this.pattern = pattern;
  }
}

type Token =
  | { kind: "literal"; char: string }
  /** `?`: one character other than `/`. */
  | { kind: "one" }
  /** `*`: any run of characters other than `/`. */
  | { kind: "star" }
  /** `**`: any run of characters. */
  | { kind: "globstar" }
  /** `**` + `/`: nothing, or any run of characters ending with `/`. */
  | { kind: "globstar-slash" }
  | { kind: "class"; negated: boolean; ranges: [number, number][] };

/** A compiled path pattern. */
export interface PathPattern {
  /** The pattern as written. */
  readonly source: string;
  /** Whether the whole of `path` matches. */
  test(path: string): boolean;
}

/** A pattern's tokens, matched by tracking every position at once. */
class TokenMatcher implements PathPattern {
  readonly source: string;
  readonly #tokens: Token[];

  constructor(source: string, tokens: Token[]) {
    this.source = source;
    this.#tokens = tokens;
  }

  /** Whether the whole of `path` matches. */
  test(path: string): boolean {
    const tokens = this.#tokens;
    let states = this.#closure([0]);
    for (const char of path) {
      const next: number[] = [];
      for (const state of states) {
        const token = tokens[state];
        if (token === undefined) continue;
        switch (token.kind) {
          case "literal":
            if (token.char === char) next.push(state + 1);
            break;
          case "one":
            if (char !== "/") next.push(state + 1);
            break;
          case "star":
            if (char !== "/") next.push(state);
            break;
          case "globstar":
            next.push(state);
            break;
          case "globstar-slash":
            next.push(state);
            if (char === "/") next.push(state + 1);
            break;
          case "class":
            if (inClass(token, char)) next.push(state + 1);
            break;
        }
      }
      states = this.#closure(next);
      if (states.length === 0) return false;
    }
    return states.includes(tokens.length);
  }

  /** The states reachable without reading a character, without duplicates, ascending. */
  #closure(states: number[]): number[] {
    const reached = new Set<number>();
    for (const start of states) {
      let state = start;
      while (!reached.has(state)) {
        reached.add(state);
        const kind = this.#tokens[state]?.kind;
        if (kind !== "star" && kind !== "globstar" && kind !== "globstar-slash") break;
        state++;
      }
    }
    return [...reached].sort((a, b) => a - b);
  }
}

function inClass(token: { negated: boolean; ranges: [number, number][] }, char: string): boolean {
  const code = char.codePointAt(0)!;
  const found = token.ranges.some(([low, high]) => low <= code && code <= high);
  return found !== token.negated;
}

/**
 * Compiles a path pattern.
 * @throws GlobError for a class with a reversed range (`[z-a]`) or nothing in it (`[!]`).
 */
export function compileGlob(pattern: string): PathPattern {
  const chars = Array.from(pattern);
  const tokens: Token[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === "*" && chars[i + 1] === "*") {
      // `/**/` also matches a single `/` (zero folders in between).
      if (chars[i + 2] === "/") {
        tokens.push({ kind: "globstar-slash" });
        i += 2;
      } else {
        tokens.push({ kind: "globstar" });
        i += 1;
      }
    } else if (c === "*") tokens.push({ kind: "star" });
    else if (c === "?") tokens.push({ kind: "one" });
    else if (c === "[" && chars.indexOf("]", i + 2) !== -1) {
      const end = chars.indexOf("]", i + 2);
      tokens.push(parseClass(pattern, chars.slice(i + 1, end)));
      i = end;
    } else tokens.push({ kind: "literal", char: c });
  }
  return new TokenMatcher(pattern, tokens);
}

/** The body of a class, between `[` and `]` (the first character may be `]`). */
function parseClass(pattern: string, body: string[]): Token {
  const negated = body[0] === "!" || body[0] === "^";
  const items = negated ? body.slice(1) : body;
  if (items.length === 0) {
    throw new GlobError(pattern, `the character class [${body.join("")}] is empty`);
  }
  const ranges: [number, number][] = [];
  for (let i = 0; i < items.length; i++) {
    const low = items[i].codePointAt(0)!;
    if (items[i + 1] === "-" && i + 2 < items.length) {
      const high = items[i + 2].codePointAt(0)!;
      if (high < low) {
        throw new GlobError(
          pattern,
          `the range ${items[i]}-${items[i + 2]} in [${body.join("")}] is reversed`,
        );
      }
      ranges.push([low, high]);
      i += 2;
    } else ranges.push([low, low]);
  }
  return { kind: "class", negated, ranges };
}

/**
 * Whether a path matches a pattern.
 * @throws GlobError when the pattern is invalid (policies are checked when they load).
 */
export function matchesGlob(path: string, pattern: string): boolean {
  return compileGlob(pattern).test(path);
}
