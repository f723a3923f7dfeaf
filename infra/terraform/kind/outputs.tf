# What `mlops-series` reads back (`terraform output -json`) to reach the cluster.

output "cluster_name" {
  description = "Name of the kind cluster."
  value       = kind_cluster.this.name
}

output "kubeconfig_path" {
  description = "Kubeconfig file of the cluster, written by the provider."
  value       = kind_cluster.this.kubeconfig_path
}

output "context" {
  description = "Kubeconfig context of the cluster (kind names it kind-<name>)."
  value       = "kind-${kind_cluster.this.name}"
}

output "endpoint" {
  description = "Kubernetes API server URL (on 127.0.0.1)."
  value       = kind_cluster.this.endpoint
}
