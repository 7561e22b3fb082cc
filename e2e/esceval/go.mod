// Pulumi ESC's evaluator, pinned, as a small helper (make e2e).
module eks-access/e2e/esceval

go 1.26.0

require (
	github.com/hashicorp/hcl/v2 v2.24.0
	github.com/pulumi/esc v0.26.0
)

require (
	github.com/agext/levenshtein v1.2.3 // indirect
	github.com/apparentlymart/go-textseg/v15 v15.0.0 // indirect
	github.com/golang/glog v1.2.5 // indirect
	github.com/mitchellh/go-wordwrap v1.0.1 // indirect
	github.com/pgavlin/fx/v2 v2.0.12 // indirect
	github.com/pulumi/pulumi/sdk/v3 v3.243.0 // indirect
	github.com/rivo/uniseg v0.4.7 // indirect
	github.com/zclconf/go-cty v1.16.3 // indirect
	golang.org/x/exp v0.0.0-20260410095643-746e56fc9e2f // indirect
	golang.org/x/mod v0.35.0 // indirect
	golang.org/x/sync v0.20.0 // indirect
	golang.org/x/text v0.37.0 // indirect
	golang.org/x/tools v0.44.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
	lukechampine.com/frand v1.5.1 // indirect
)
