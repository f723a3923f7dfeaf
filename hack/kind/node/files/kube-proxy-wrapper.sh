#!/bin/sh
# kube-proxy runs in the node's network namespace: use the iptables backend (legacy or nft) that
# already holds the node's rules, as the node's entrypoint chose it, then run the real kube-proxy.
legacy=$( (iptables-legacy-save; ip6tables-legacy-save) 2>/dev/null | grep -c '^-' || true)
nft=$( (iptables-nft-save; ip6tables-nft-save) 2>/dev/null | grep -c '^-' || true)
mode=nft
[ "${legacy:-0}" -gt "${nft:-0}" ] && mode=legacy
update-alternatives --set iptables "/usr/sbin/iptables-$mode" >/dev/null 2>&1 || true
update-alternatives --set ip6tables "/usr/sbin/ip6tables-$mode" >/dev/null 2>&1 || true
exec /usr/local/bin/kube-proxy.real "$@"
