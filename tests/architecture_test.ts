/**
 * The layering rules of docs/architecture.md, checked on the source: imports point one way
 * (cli → policy → core), core folders import only the folders the document allows, command
 * modules stay small and independent, the network is reached only through core/http, and
 * core and policy print nothing and never exit.
 *
 * Imports are read from the source with comments removed (a doc example may import anything).
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { REPO_ROOT } from "./helpers/peers.ts";

/** One source file: its path from the repository root, its code without comments. */
interface Source {
  path: string;
  code: string;
  /** The code without comments and without the contents of string literals. */
  bare: string;
  lines: number;
}

/**
 * The code of `text` without comments, and a copy in which string literals are emptied too
 * (template literals as a whole, `${…}` included: good enough for the checks below).
 */
function stripComments(text: string): { code: string; bare: string } {
  let code = "";
  let bare = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === "/" && next === "/") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end === -1 ? text.length : end + 2;
      const newlines = text.slice(i, stop).replace(/[^\n]/g, "");
      code += newlines;
      bare += newlines;
      i = stop;
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < text.length && text[j] !== c) {
        if (text[j] === "\\") j++;
        if (c !== "`" && text[j] === "\n") break;
        j++;
      }
      const literal = text.slice(i, j + 1);
      code += literal;
      bare += c + literal.slice(1, -1).replace(/[^\n]/g, "") + c;
      i = j + 1;
    } else {
      code += c;
      bare += c;
      i++;
    }
  }
  return { code, bare };
}

function readSources(folder: string): Source[] {
  const sources: Source[] = [];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) walk(path);
      else if (entry.isFile && entry.name.endsWith(".ts")) {
        const text = Deno.readTextFileSync(path);
        sources.push({
          path: relative(REPO_ROOT, path),
          ...stripComments(text),
          lines: text.split("\n").length - (text.endsWith("\n") ? 1 : 0),
        });
      }
    }
  };
  walk(join(REPO_ROOT, folder));
  return sources.sort((a, b) => a.path.localeCompare(b.path));
}

const SOURCES: Source[] = ["cli", "policy", "core"].flatMap(readSources);

/** The module specifiers a file imports or re-exports (static and dynamic). */
function specifiers(source: Source): string[] {
  const found: string[] = [];
  const statement = /(?:^|[;\n}])\s*(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/g;
  const bareImport = /(?:^|[;\n])\s*import\s*["']([^"']+)["']/g;
  const dynamic = /\bimport\(\s*["']([^"']+)["']\s*\)/g;
  for (const pattern of [statement, bareImport, dynamic]) {
    for (const match of source.code.matchAll(pattern)) found.push(match[1]);
  }
  return found;
}

/** The repository paths a file imports (relative specifiers only). */
function localImports(source: Source): string[] {
  return specifiers(source)
    .filter((s) => s.startsWith("."))
    .map((s) => relative(REPO_ROOT, join(REPO_ROOT, dirname(source.path), s)));
}

/** The top folder of a path: `cli`, `policy`, or `core/<folder>`; else the path itself. */
function area(path: string): string {
  const parts = path.split("/");
  return parts[0] === "core" ? `core/${parts[1]}` : parts.length > 1 ? parts[0] : path;
}

/** `file → import` for every local import of the files `from` that `bad` refuses. */
function offending(from: (path: string) => boolean, bad: (target: string) => boolean): string[] {
  return SOURCES.filter((s) => from(s.path)).flatMap((s) =>
    localImports(s).filter(bad).map((target) => `${s.path} → ${target}`)
  );
}

/** The core folders each core folder may import (docs/architecture.md). */
const CORE_IMPORTS: Record<string, string[]> = {
  "core/sif": [],
  "core/files": [],
  "core/http": [],
  "core/deffile": [],
  "core/integrity": ["core/sif", "core/keys"],
  "core/keys": ["core/files", "core/config"],
  "core/config": ["core/files", "core/http", "core/keys"],
  "core/keyserver": ["core/config", "core/files", "core/http", "core/keys"],
  "core/registry": ["core/config", "core/files", "core/http"],
  "core/x509": ["core/http", "core/integrity"],
};

Deno.test("architecture: the sources were found", () => {
  for (const folder of ["cli/commands", "policy", ...Object.keys(CORE_IMPORTS)]) {
    assertEquals(SOURCES.some((s) => s.path.startsWith(`${folder}/`)), true, folder);
  }
  // The comment stripper keeps code and strings, and drops comments.
  assertEquals(
    stripComments('a("//x"); // b\n/* c */ d(`/*`);'),
    { code: 'a("//x"); \n d(`/*`);', bare: 'a(""); \n d(``);' },
  );
});

Deno.test("architecture: core imports nothing from policy/ or cli/, nor the package root", () => {
  assertEquals(
    offending((p) => p.startsWith("core/"), (t) => !t.startsWith("core/") && t !== "deno.json"),
    [],
  );
});

Deno.test("architecture: policy/ imports nothing from cli/", () => {
  assertEquals(offending((p) => p.startsWith("policy/"), (t) => t.startsWith("cli/")), []);
});

Deno.test("architecture: each core folder imports only the core folders it may", () => {
  assertEquals(
    Object.keys(CORE_IMPORTS).sort(),
    [...new Set(SOURCES.filter((s) => s.path.startsWith("core/")).map((s) => area(s.path)))]
      .sort(),
    "every core folder has a row in CORE_IMPORTS (and in docs/architecture.md)",
  );
  const bad = SOURCES.filter((s) => s.path.startsWith("core/")).flatMap((s) =>
    localImports(s)
      .filter((t) => t.startsWith("core/") && area(t) !== area(s.path))
      .filter((t) => !CORE_IMPORTS[area(s.path)].includes(area(t)))
      .map((t) => `${s.path} → ${t}`)
  );
  assertEquals(bad, []);
});

Deno.test("architecture: no command module imports another command module", () => {
  assertEquals(
    offending((p) => p.startsWith("cli/commands/"), (t) => t.startsWith("cli/commands/")),
    [],
  );
});

Deno.test("architecture: no file in cli/commands is over 250 lines", () => {
  assertEquals(
    SOURCES.filter((s) => s.path.startsWith("cli/commands/") && s.lines > 250)
      .map((s) => `${s.path}: ${s.lines} lines`),
    [],
  );
});

Deno.test("architecture: only core/http reaches the network", () => {
  const network = SOURCES.filter((s) => !s.path.startsWith("core/http/")).flatMap((s) => [
    ...specifiers(s).filter((spec) => /^(node:)?https?$/.test(spec)).map((spec) =>
      `${s.path}: imports ${spec}`
    ),
    ...(/(?<![\w.$])fetch\s*\(/.test(s.bare) ? [`${s.path}: calls fetch(`] : []),
  ]);
  assertEquals(network, []);
});

Deno.test("architecture: core/ and policy/ print nothing and never exit", () => {
  const loud = SOURCES.filter((s) => s.path.startsWith("core/") || s.path.startsWith("policy/"))
    .flatMap((s) => [
      ...(/\bconsole\s*\./.test(s.bare) ? [`${s.path}: console.`] : []),
      ...(/\bDeno\s*\.\s*exit\b/.test(s.bare) ? [`${s.path}: Deno.exit`] : []),
      ...(/\bDeno\s*\.\s*std(out|err)\b/.test(s.bare) ? [`${s.path}: Deno.stdout/stderr`] : []),
    ]);
  assertEquals(loud, []);
});
