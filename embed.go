// Package mlopsseries embeds what the binary carries: the series (chapter specs, values, examples),
// the project's Helm charts, the infrastructure code of chapter 1 and the kind cluster config.
package mlopsseries

import (
	"embed"
	"io/fs"
)

// A folder pattern leaves out files whose names start with '_' or '.', so a Python package's
// __init__.py (which the series' own images copy) is named by its own pattern; not all:series,
// which would also take a checkout's __pycache__ and .pytest_cache.
//
//go:embed series series/*/*/*/__init__.py all:charts infra kind-config.yaml
var content embed.FS

// Series returns the embedded series folder (series.yaml and the chapter folders).
func Series() fs.FS { return sub("series") }

// Charts returns the embedded charts folder, one chart per subfolder.
func Charts() fs.FS { return sub("charts") }

// Infra returns the embedded infra folder (Terraform, Ansible).
func Infra() fs.FS { return sub("infra") }

// KindConfig returns the embedded kind cluster configuration.
func KindConfig() []byte {
	b, err := content.ReadFile("kind-config.yaml")
	if err != nil {
		panic("kind-config.yaml is not embedded: " + err.Error())
	}
	return b
}

func sub(dir string) fs.FS {
	f, err := fs.Sub(content, dir)
	if err != nil {
		panic("embedded folder " + dir + ": " + err.Error())
	}
	return f
}
