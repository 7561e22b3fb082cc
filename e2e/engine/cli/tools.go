// The Pulumi CLI, built from the Go module proxy at the version pinned in go.mod (make e2e-engine).
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
