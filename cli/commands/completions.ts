/**
 * `siftrust completions bash|zsh|fish`: shell completion scripts, generated from the command
 * tree itself, so they always match the commands and options siftrust has.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { usageError } from "../exit.ts";
import { print } from "../output.ts";

/** A command in the tree: its path of names, subcommands and option flags. */
interface Node {
  path: string[];
  description: string;
  subcommands: string[];
  options: string[];
}

// deno-lint-ignore no-explicit-any
type AnyCommand = Command<any, any, any>;

function walk(command: AnyCommand, path: string[], out: Node[]): void {
  const subcommands = command.commands as AnyCommand[];
  out.push({
    path,
    description: command.description(),
    subcommands: subcommands.flatMap((c) => [c.name(), ...c.aliases()]),
    options: command.options.flatMap((o) =>
      [o.short, o.long].filter((f): f is string => f !== undefined)
    ),
  });
  // An alias completes like its command (`keys` like `key`, `siftool` like `sif`).
  for (const sub of subcommands) {
    for (const name of [sub.name(), ...sub.aliases()]) walk(sub, [...path, name], out);
  }
}

/** The bash script (zsh loads it through bashcompinit). */
function bashScript(nodes: Node[]): string {
  const cases = nodes.map((n) =>
    `    "${n.path.join(" ")}") words_for="${
      [...n.subcommands, ...n.options, "--help"].join(" ")
    }" ;;`
  );
  return `# siftrust bash completion: source it, or put it in /etc/bash_completion.d/siftrust
_siftrust() {
  local cur path word words_for
  cur="\${COMP_WORDS[COMP_CWORD]}"
  path=""
  for word in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$word" in -*) ;; *) if [ -z "$path" ]; then path="$word"; else path="$path $word"; fi ;; esac
  done
  words_for=""
  while :; do
    case "$path" in
${cases.join("\n")}
    *) if [ "\${path% *}" = "$path" ]; then path=""; else path="\${path% *}"; continue; fi ;;
    esac
    break
  done
  if [[ "$cur" == -* || -n "$words_for" ]]; then
    COMPREPLY=( $(compgen -W "$words_for" -- "$cur") $(compgen -f -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -o filenames -F _siftrust siftrust
`;
}

function fishScript(nodes: Node[]): string {
  const lines = ["# siftrust fish completion: save as ~/.config/fish/completions/siftrust.fish"];
  for (const node of nodes) {
    // Every word of the path must have been typed: `key list` and `sif list` differ.
    const condition = node.path.length === 0
      ? "__fish_use_subcommand"
      : node.path.map((word) => `__fish_seen_subcommand_from ${word}`).join("; and ");
    for (const sub of node.subcommands) {
      lines.push(`complete -c siftrust -n '${condition}' -f -a '${sub}'`);
    }
    for (const option of node.options) {
      const flag = option.startsWith("--") ? `-l ${option.slice(2)}` : `-s ${option.slice(1)}`;
      lines.push(`complete -c siftrust -n '${condition}' ${flag}`);
    }
  }
  return lines.join("\n") + "\n";
}

/** Adds `completions` to the program. */
export function registerCompletions(program: Command): void {
  program.command("completions")
    .description("print a shell completion script for bash, zsh or fish")
    .argument("<shell>", "bash, zsh or fish")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust completions bash > /etc/bash_completion.d/siftrust\n" +
        "  siftrust completions fish > ~/.config/fish/completions/siftrust.fish\n" +
        "  echo 'source <(siftrust completions zsh)' >> ~/.zshrc",
    )
    .action((shell) => {
      const nodes: Node[] = [];
      walk(program as AnyCommand, [], nodes);
      if (shell === "bash") print(bashScript(nodes));
      else if (shell === "zsh") {
        print(`autoload -U +X bashcompinit && bashcompinit\n${bashScript(nodes)}`);
      } else if (shell === "fish") print(fishScript(nodes));
      else throw usageError(`unknown shell "${shell}": choose bash, zsh or fish`);
    });
}
