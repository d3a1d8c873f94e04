/** The definition-file header parser: stages, continuation lines, comments, typed refusals. */

import { deepStrictEqual as assertEquals, ok, throws } from "node:assert/strict";
import { DefinitionError, parseDefinition } from "../../core/deffile/mod.ts";

Deno.test("stages start at each Bootstrap: line; comment-only text is no stage", () => {
  const stages = parseDefinition(
    "# built nightly\n\nBootstrap: docker\nFrom: alpine\n%post\n  true\n" +
      "bootstrap: localimage\nfrom: stage-one.sif\nOtherURL1: https://example.org\n",
  );
  assertEquals(stages.map((s) => s.fields), [
    { bootstrap: "docker", from: "alpine" },
    { bootstrap: "localimage", from: "stage-one.sif", otherurl1: "https://example.org" },
  ]);
  assertEquals(parseDefinition("# nothing here\n\n"), []);
});

Deno.test("a value ending in a backslash continues on the next line", () => {
  const [stage] = parseDefinition(
    "Bootstrap: localimage\nFrom: base.sif\nFingerprints: AAAA,\\\n  BBBB\n%post\n",
  );
  assertEquals(stage.fingerprints, ["AAAA", "BBBB"]);
  // `\n` before the backslash is a newline in the value.
  const [newline] = parseDefinition("Bootstrap: localimage\nFrom: a\\n\\\n  b\n");
  assertEquals(newline.fields.from, "a\nb");
  // A backslash alone continues nothing: the key is dropped, the next line is a key of its own.
  const [empty] = parseDefinition("Bootstrap: localimage\nFrom: \\\nStage: two\n");
  assertEquals(empty.fields, { bootstrap: "localimage", stage: "two" });
});

Deno.test("Apptainer's refusals carry a kind and the key at fault", () => {
  const refused = (text: string) => {
    try {
      parseDefinition(text);
    } catch (error) {
      ok(error instanceof DefinitionError);
      return [error.kind, error.key, error.message];
    }
    throw new Error("not refused");
  };
  assertEquals(refused("Bootstrap: localimage\nColour: blue\n"), [
    "invalid-keyword",
    "colour",
    "invalid header keyword found: colour",
  ]);
  assertEquals(refused("Bootstrap: localimage\njust words\n"), [
    "no-value",
    "just words",
    "header key just words had no val",
  ]);
  // Words after the header (in a section) are not read as header lines.
  throws(() => parseDefinition("Bootstrap: docker\nnonsense\n%post\n"), DefinitionError);
  assertEquals(parseDefinition("Bootstrap: docker\n%post\nnonsense\n").length, 1);
});
