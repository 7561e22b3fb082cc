//go:build tools

// The program this module builds; never compiled itself (the "tools" build tag).
package tools

import _ "go.etcd.io/etcd/server/v3"
