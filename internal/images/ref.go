// Package images handles the container images of the series on the reader's machine: which of a
// chapter's images the local container engine (docker, podman, nerdctl) holds, pulling them,
// saving them into one docker-save archive and loading one, and loading them from the engine into
// the kind node, skipping what the node has already (same image ID). With the images saved once,
// a workshop without network, or a second `up` after `down --all`, pulls nothing.
package images

import "strings"

// Normalize returns the full form of an image reference, as containerd and the series' images.yaml
// write it: registry, repository, and the tag (latest when none) or digest. Docker's short forms
// ("postgres:17", "prom/prometheus") get docker.io and library/.
func Normalize(ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ""
	}
	name, digest, _ := strings.Cut(ref, "@")
	tag := ""
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name, tag = name[:i], name[i+1:]
	}
	domain, rest, found := strings.Cut(name, "/")
	if !found || !strings.ContainsAny(domain, ".:") && domain != "localhost" {
		domain, rest = "docker.io", name
	}
	if domain == "index.docker.io" {
		domain = "docker.io"
	}
	if domain == "docker.io" && !strings.Contains(rest, "/") {
		rest = "library/" + rest
	}
	out := domain + "/" + rest
	if tag != "" {
		out += ":" + tag
	} else if digest == "" {
		out += ":latest"
	}
	if digest != "" {
		out += "@" + digest
	}
	return out
}

// repository returns the reference without tag or digest ("docker.io/library/postgres").
func repository(ref string) string {
	name, _, _ := strings.Cut(Normalize(ref), "@")
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name = name[:i]
	}
	return name
}

// digestOf returns the digest of a reference pinned by digest, else "".
func digestOf(ref string) string {
	_, d, _ := strings.Cut(ref, "@")
	return d
}

// Registry returns the registry host of a reference ("docker.io", "ghcr.io").
func Registry(ref string) string {
	r, _, _ := strings.Cut(Normalize(ref), "/")
	return r
}
