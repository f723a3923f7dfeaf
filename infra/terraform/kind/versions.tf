# Chapter 1 · infrastructure as code: the lab's kind cluster, declared with Terraform.
# Works with Terraform >= 1.6 and with OpenTofu (the open-source fork, same language).
terraform {
  required_version = ">= 1.6.0"

  required_providers {
    # https://github.com/tehcyx/terraform-provider-kind: drives the same sigs.k8s.io/kind library
    # that `mlops-series up` uses when it makes the cluster itself.
    kind = {
      source  = "tehcyx/kind"
      version = "0.11.0"
    }
  }

  # No backend block: the state is a local file in the working directory. `mlops-series` runs this
  # module from a copy in the user's config dir (~/.config/mlops-series/terraform/kind), so the
  # state never lands in the repository.
}
