// authmap resolves IAM and STS ARNs to Kubernetes identities with aws-iam-authenticator's own
// code: its ARN canonicalisation (pkg/arn) and its ConfigMap mapper (pkg/mapper/configmap),
// which reads kube-system/aws-auth from the API server exactly as the authenticator does.
//
//	authmap -kubeconfig FILE -ready-arn NODE_ROLE_ARN ARN [ARN...]
//
// One JSON object per ARN on stdout: {"arn", "canonical", "mapped", "username", "groups"}.
// The mapper fills its tables from a watch; -ready-arn names a mapping known to be in
// aws-auth (a node role) so the helper answers only once the tables are loaded.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"sigs.k8s.io/aws-iam-authenticator/pkg/arn"
	"sigs.k8s.io/aws-iam-authenticator/pkg/config"
	"sigs.k8s.io/aws-iam-authenticator/pkg/mapper/configmap"
	"sigs.k8s.io/aws-iam-authenticator/pkg/token"
)

type answer struct {
	ARN       string   `json:"arn"`
	Canonical string   `json:"canonical"`
	Mapped    bool     `json:"mapped"`
	Username  string   `json:"username,omitempty"`
	Groups    []string `json:"groups,omitempty"`
	Error     string   `json:"error,omitempty"`
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the API server that holds aws-auth")
	readyARN := flag.String("ready-arn", "", "an ARN mapped in aws-auth, to know the map is loaded")
	flag.Parse()

	m, err := configmap.NewConfigMapMapper(config.Config{Kubeconfig: *kubeconfig})
	if err != nil {
		fmt.Fprintln(os.Stderr, "authmap:", err)
		os.Exit(2)
	}
	stop := make(chan struct{})
	defer close(stop)
	if err := m.Start(stop); err != nil {
		fmt.Fprintln(os.Stderr, "authmap:", err)
		os.Exit(2)
	}
	if *readyARN != "" {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := m.RoleMapping(strings.ToLower(*readyARN)); err == nil {
				break
			}
			if time.Now().After(deadline) {
				fmt.Fprintln(os.Stderr, "authmap: aws-auth not loaded (ready ARN never mapped)")
				os.Exit(2)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	out := json.NewEncoder(os.Stdout)
	for _, input := range flag.Args() {
		a := answer{ARN: input}
		_, canonical, err := arn.Canonicalize(input)
		if err != nil {
			a.Error = err.Error()
			_ = out.Encode(a)
			continue
		}
		a.Canonical = canonical
		identity := &token.Identity{ARN: input, CanonicalARN: canonical, SessionName: session(input)}
		if found, err := m.Map(identity); err == nil {
			a.Mapped = true
			a.Username = render(found.Username, identity)
			for _, g := range found.Groups {
				a.Groups = append(a.Groups, render(g, identity))
			}
		}
		_ = out.Encode(a)
	}
}

// session is the session name of an assumed-role ARN (the last path element), as STS
// reports it in GetCallerIdentity; empty for IAM ARNs.
func session(input string) string {
	if !strings.Contains(input, ":assumed-role/") {
		return ""
	}
	return input[strings.LastIndex(input, "/")+1:]
}

// render substitutes the templates the authenticator's server substitutes in usernames and
// groups (pkg/server: renderTemplate); that function is unexported, so its three plain
// replacements are repeated here. {{EC2PrivateDNSName}} needs EC2 and is left as is.
func render(template string, identity *token.Identity) string {
	account := ""
	if parts := strings.Split(identity.CanonicalARN, ":"); len(parts) > 4 {
		account = parts[4]
	}
	template = strings.ReplaceAll(template, "{{AccountID}}", account)
	template = strings.ReplaceAll(template, "{{SessionName}}", strings.ReplaceAll(identity.SessionName, "@", "-"))
	return strings.ReplaceAll(template, "{{SessionNameRaw}}", identity.SessionName)
}
