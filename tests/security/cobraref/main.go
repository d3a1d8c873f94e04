// cobraref runs command lines through the real cobra and pflag libraries (Debian's), set up
// the way Apptainer and SingularityCE set up their commands: the root command traverses its
// children, no command intersperses flags and arguments, exec needs two arguments, run,
// shell and test one, instance start and instance run two. It reads one JSON object on stdin,
// {"table": {"root": [FLAG], "commands": {"exec": [FLAG], …}}, "cases": [[ARGV…], …]}
// with FLAG = {"long": "bind", "short": "B", "value": true}, and prints, for each case, the
// command that would run and its arguments after flag parsing, or the error.
package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"

	"github.com/spf13/cobra"
)

type flagSpec struct {
	Long  string `json:"long"`
	Short string `json:"short"`
	Value bool   `json:"value"`
}

type table struct {
	Root     []flagSpec            `json:"root"`
	Commands map[string][]flagSpec `json:"commands"`
}

type input struct {
	Table table      `json:"table"`
	Cases [][]string `json:"cases"`
}

type outcome struct {
	Ran     bool     `json:"ran"`
	Command string   `json:"command,omitempty"`
	Args    []string `json:"args,omitempty"`
	Error   string   `json:"error,omitempty"`
}

func addFlags(cmd *cobra.Command, specs []flagSpec) {
	for _, spec := range specs {
		if spec.Long == "help" || spec.Long == "version" {
			continue // cobra adds these itself
		}
		if spec.Value {
			cmd.Flags().StringP(spec.Long, spec.Short, "", "")
		} else {
			cmd.Flags().BoolP(spec.Long, spec.Short, false, "")
		}
	}
	cmd.Flags().SetInterspersed(false)
}

func tree(t table, result *outcome) *cobra.Command {
	root := &cobra.Command{
		Use:              "runtime",
		Version:          "test",
		TraverseChildren: true,
		SilenceErrors:    true,
		SilenceUsage:     true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("invalid command")
		},
	}
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	addFlags(root, t.Root)
	root.PersistentFlags().SetInterspersed(false)
	leaf := func(name string, path string, minArgs int) *cobra.Command {
		cmd := &cobra.Command{
			Use:  name,
			Args: cobra.MinimumNArgs(minArgs),
			Run: func(_ *cobra.Command, args []string) {
				result.Ran = true
				result.Command = path
				result.Args = args
			},
		}
		addFlags(cmd, t.Commands[path])
		return cmd
	}
	root.AddCommand(leaf("exec", "exec", 2), leaf("run", "run", 1), leaf("shell", "shell", 1),
		leaf("test", "test", 1))
	instance := &cobra.Command{Use: "instance"}
	instance.Flags().SetInterspersed(false)
	instance.AddCommand(leaf("start", "instance start", 2), leaf("run", "instance run", 2))
	root.AddCommand(instance)
	return root
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(2)
	}
	out := make([]outcome, 0, len(in.Cases))
	for _, argv := range in.Cases {
		var result outcome
		root := tree(in.Table, &result)
		root.SetArgs(argv[1:])
		if _, err := root.ExecuteC(); err != nil {
			result = outcome{Error: err.Error()}
		}
		out = append(out, result)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(2)
	}
}
