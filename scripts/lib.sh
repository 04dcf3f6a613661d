# shellcheck shell=bash
# Helpers shared by the scripts in scripts/. Source it; it defines functions only.
#
#   log "message"   one line on stderr, prefixed with the calling script's name
#   die "message"   log it and exit 1
#   repo_root       the absolute path of the repository

pgqrs_script_name=$(basename "${0:-pgqrs}")

log() { printf '%s: %s\n' "$pgqrs_script_name" "$*" >&2; }

die() {
  printf '%s: error: %s\n' "$pgqrs_script_name" "$*" >&2
  exit 1
}

repo_root() { (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd); }

# Runs "$@" as root: directly when we are root, through sudo -n otherwise (never prompts,
# so it works without a terminal).
as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    die "need root to run '$1' (not root, and sudo is not installed)"
  fi
}
