#!/usr/bin/env bash
# Bootstraps Flux on the current kubectl context so that it applies flux/clusters/<env>: the one sequence
# that docs/cluster.md documents and .github/workflows/e2e.yml runs (k8s/test/bootstrap.test.ts checks
# that both call this script, and that it installs every CRD the repository's Flux Kustomizations apply).
#
#   flux/bootstrap.sh <env> github --owner=<you> --repository=soundgood    # a cluster: GITHUB_TOKEN set
#   flux/bootstrap.sh <env> git <https-url> <commit>                       # CI: one commit, read-only
#
# SOPS_AGE_KEY_FILE (default ./age.agekey) is the age key Flux decrypts SOPS files with.
# In `git` mode GIT_USERNAME/GIT_PASSWORD are the read credentials of <https-url>.
set -euo pipefail

# The Flux release (k8s/crd-sources.yaml vendors its CRDs; the e2e workflow's flux CLI is the same).
flux_version=v2.9.5
# Flux's default controllers (source, kustomize, helm, notification) plus image automation: the root
# Kustomization applies ImageRepository, ImagePolicy and ImageUpdateAutomation, whose CRDs only these two
# controllers install, and Flux dry-runs a Kustomization's whole set before applying any of it.
components_extra=image-reflector-controller,image-automation-controller

env="${1:?usage: flux/bootstrap.sh <env> github|git ...}"
mode="${2:?usage: flux/bootstrap.sh <env> github|git ...}"
shift 2
path="flux/clusters/$env"

# 1. The decryption key, before anything can apply a Kustomization that decrypts with it.
kubectl create namespace flux-system --dry-run=client --output=yaml | kubectl apply --filename=-
kubectl --namespace=flux-system create secret generic sops-age \
  --from-file=age.agekey="${SOPS_AGE_KEY_FILE:-age.agekey}" --dry-run=client --output=yaml |
  kubectl apply --filename=-

# 2. Flux's controllers, and the root Kustomization flux-system that applies $path.
case "$mode" in
github)
  # Installs the controllers, commits gotk-components.yaml and gotk-sync.yaml (pointed at your fork) to
  # $path/flux-system, and adds a read-write deploy key: image automation pushes tag updates.
  flux bootstrap github --version="$flux_version" --components-extra="$components_extra" \
    --branch=main --path="$path" --read-write-key "$@"
  ;;
git)
  # What `flux bootstrap` does, without pushing: the same controllers, and a GitRepository flux-system
  # plus a root Kustomization flux-system that applies $path. Bootstrap would rewrite the committed
  # sync ($path/flux-system/gotk-sync.yaml) to point at your fork; here the root leaves those two objects
  # out, or it would re-apply the committed URL over the given commit (kustomize's `$patch: delete`, one
  # per patch: several in one patch crash kustomize-controller, fluxcd/kustomize-controller#1306).
  url="${1:?git mode needs <https-url> <commit>}"
  commit="${2:?git mode needs <https-url> <commit>}"
  flux install --version="$flux_version" --components-extra="$components_extra"
  flux create secret git flux-system --url="$url" \
    --username="${GIT_USERNAME:?}" --password="${GIT_PASSWORD:?}"
  flux create source git flux-system --url="$url" --commit="$commit" --secret-ref=flux-system --interval=1h
  kubectl apply --server-side --filename=- <<EOF
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m
  path: ./$path
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  patches:
    - patch: |
        \$patch: delete
        apiVersion: source.toolkit.fluxcd.io/v1
        kind: GitRepository
        metadata:
          name: flux-system
          namespace: flux-system
    - patch: |
        \$patch: delete
        apiVersion: kustomize.toolkit.fluxcd.io/v1
        kind: Kustomization
        metadata:
          name: flux-system
          namespace: flux-system
EOF
  ;;
*)
  echo "unknown mode $mode: github or git" >&2
  exit 2
  ;;
esac
