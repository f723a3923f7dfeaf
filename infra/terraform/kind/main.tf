# The kind cluster of the series, from the same kind-config.yaml that `mlops-series up` uses:
# the YAML is decoded here and mapped, field by field, onto the provider's kind_config block.

locals {
  kind_config_path = coalesce(var.kind_config_path, "${path.module}/../../../kind-config.yaml")
  kind_config      = yamldecode(file(local.kind_config_path))

  # The fields of the kind config this module maps. Anything else in the file would be silently
  # dropped, giving a different cluster than `mlops-series up`: the precondition below refuses it.
  supported_cluster_keys = ["kind", "apiVersion", "name", "nodes", "networking", "containerdConfigPatches", "runtimeConfig", "featureGates"]
  supported_node_keys    = ["role", "image", "extraPortMappings", "extraMounts", "labels", "kubeadmConfigPatches"]
  unsupported_keys = concat(
    tolist(setsubtract(keys(local.kind_config), local.supported_cluster_keys)),
    flatten([for n in try(local.kind_config.nodes, []) : tolist(setsubtract(keys(n), local.supported_node_keys))]),
  )
}

resource "kind_cluster" "this" {
  name            = var.cluster_name
  node_image      = var.node_image
  kubeconfig_path = var.kubeconfig_path
  # Like `mlops-series up`: return only once the control plane is ready.
  wait_for_ready = true

  kind_config {
    kind        = local.kind_config.kind
    api_version = local.kind_config.apiVersion

    dynamic "node" {
      for_each = local.kind_config.nodes
      content {
        role                   = try(node.value.role, "control-plane")
        image                  = try(node.value.image, null)
        labels                 = try(node.value.labels, null)
        kubeadm_config_patches = try(node.value.kubeadmConfigPatches, null)

        dynamic "extra_port_mappings" {
          for_each = try(node.value.extraPortMappings, [])
          content {
            container_port = extra_port_mappings.value.containerPort
            host_port      = try(extra_port_mappings.value.hostPort, null)
            listen_address = try(extra_port_mappings.value.listenAddress, null)
            protocol       = try(extra_port_mappings.value.protocol, null)
          }
        }

        dynamic "extra_mounts" {
          for_each = try(node.value.extraMounts, [])
          content {
            host_path       = extra_mounts.value.hostPath
            container_path  = extra_mounts.value.containerPath
            read_only       = try(extra_mounts.value.readOnly, null)
            selinux_relabel = try(extra_mounts.value.selinuxRelabel, null)
            propagation     = try(extra_mounts.value.propagation, null)
          }
        }
      }
    }

    dynamic "networking" {
      for_each = can(local.kind_config.networking) ? [local.kind_config.networking] : []
      content {
        ip_family           = try(networking.value.ipFamily, null)
        api_server_address  = try(networking.value.apiServerAddress, null)
        api_server_port     = try(networking.value.apiServerPort, null)
        pod_subnet          = try(networking.value.podSubnet, null)
        service_subnet      = try(networking.value.serviceSubnet, null)
        disable_default_cni = try(networking.value.disableDefaultCNI, null)
        kube_proxy_mode     = try(networking.value.kubeProxyMode, null)
        dns_search          = try(networking.value.dnsSearch, null)
      }
    }

    containerd_config_patches = try(local.kind_config.containerdConfigPatches, null)
    runtime_config            = try(local.kind_config.runtimeConfig, null)
    feature_gates             = try({ for k, v in local.kind_config.featureGates : k => tostring(v) }, null)
  }

  lifecycle {
    precondition {
      condition     = length(local.unsupported_keys) == 0
      error_message = "The kind config ${local.kind_config_path} uses fields this module does not map: ${join(", ", local.unsupported_keys)}."
    }
    precondition {
      condition     = local.kind_config.kind == "Cluster" && local.kind_config.apiVersion == "kind.x-k8s.io/v1alpha4"
      error_message = "The kind config ${local.kind_config_path} must be kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4."
    }
  }
}
