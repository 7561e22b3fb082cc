// Pulumi ESC's own evaluator (github.com/pulumi/esc, pinned in go.mod) over local environment
// files, for make e2e: the offline plan's ESC resolution is compared with what this prints.
//
// Usage: esceval DIR DEFINITION.yaml
//
// DEFINITION is an environment definition (the stack file's `environment:` as Pulumi turns it
// into one: `imports:` and, inline, `values:`); an import `org/project/name` or `name` is read
// from DIR/name.yaml. No provider is served, so `fn::open::*` fails as it would for a user
// without access. Prints {"pulumiConfig": ..., "secrets": [...], "diagnostics": [...]} as JSON;
// secret values in plaintext, their paths listed.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/pulumi/esc"
	"github.com/pulumi/esc/eval"
)

type files struct{ dir string }

func (f files) LoadEnvironment(_ context.Context, name string) ([]byte, eval.Decrypter, error) {
	parts := strings.Split(name, "/")
	b, err := os.ReadFile(filepath.Join(f.dir, parts[len(parts)-1]+".yaml"))
	return b, plain{}, err
}

type plain struct{}

func (plain) Decrypt(_ context.Context, v []byte) ([]byte, error) { return v, nil }

type noProviders struct{}

func (noProviders) LoadProvider(_ context.Context, name string) (esc.Provider, error) {
	return nil, fmt.Errorf("provider %q is not served offline", name)
}

func (noProviders) LoadRotator(_ context.Context, name string) (esc.Rotator, error) {
	return nil, fmt.Errorf("rotator %q is not served offline", name)
}

func secrets(v esc.Value, path string, out *[]string) {
	if v.Secret {
		*out = append(*out, path)
	}
	switch x := v.Value.(type) {
	case map[string]esc.Value:
		for k, e := range x {
			secrets(e, path+"."+k, out)
		}
	case []esc.Value:
		for i, e := range x {
			secrets(e, fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: esceval DIR DEFINITION.yaml")
		os.Exit(2)
	}
	source, err := os.ReadFile(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	decl, diags, err := eval.LoadYAMLBytes("<stack>", source)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	execContext, err := esc.NewExecContext(map[string]esc.Value{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	result := map[string]any{"pulumiConfig": nil, "secrets": []string{}, "diagnostics": []string{}}
	messages := []string{}
	for _, d := range diags {
		if d.Severity == hcl.DiagError { // warnings (an unknown field) do not stop ESC
			messages = append(messages, d.Summary)
		}
	}
	if !diags.HasErrors() {
		env, evalDiags := eval.EvalEnvironment(ctx, "<stack>", decl, plain{}, noProviders{}, files{os.Args[1]}, execContext)
		for _, d := range evalDiags {
			if d.Severity == hcl.DiagError {
				messages = append(messages, d.Summary)
			}
		}
		if env != nil {
			if config, ok := env.Properties["pulumiConfig"]; ok {
				result["pulumiConfig"] = config.ToJSON(false)
				found := []string{}
				secrets(config, "pulumiConfig", &found)
				sort.Strings(found)
				result["secrets"] = found
			}
		}
	}
	result["diagnostics"] = messages
	out, _ := json.Marshal(result)
	fmt.Println(string(out))
}
