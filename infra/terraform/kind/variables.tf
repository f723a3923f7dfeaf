variable "cluster_name" {
  description = "Name of the kind cluster; its kubeconfig context is kind-<cluster_name>."
  type        = string
  default     = "mlops-series"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.cluster_name))
    error_message = "The cluster_name must be lowercase letters, digits and '-' (it names containers and a kubeconfig context)."
  }
}

variable "kind_config_path" {
  description = "Path of the kind cluster config (kind.x-k8s.io/v1alpha4). Null: the repository's kind-config.yaml, the file `mlops-series up` uses."
  type        = string
  default     = null
}

variable "node_image" {
  description = "Node image for every node (e.g. kindest/node:v1.37.2). Null: the image of each node in the kind config."
  type        = string
  default     = null
}

variable "kubeconfig_path" {
  description = "Where the provider writes the cluster's kubeconfig. Null: <working directory>/<cluster_name>-config."
  type        = string
  default     = null
}
