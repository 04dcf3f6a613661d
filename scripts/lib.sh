# shellcheck shell=bash
# Helpers shared by the scripts in scripts/. Source it; it defines functions only.
#
#   log "message"   one line on stderr, prefixed with the calling script's name
#   die "message"   log it and exit 1
#   repo_root       the absolute path of the repository
#   pgqrs_cache_dir the per-user cache outside the clone (venv, Turso engine build, ...)
#   pgqrs_venv_dir  the Python venv scripts/bootstrap fills from python-requirements.txt

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

# Caches that must survive a fresh clone (CI clones anew each run) live here, keyed by what
# they are built from. $PGQRS_CACHE_DIR overrides the location.
pgqrs_cache_dir() { printf '%s\n' "${PGQRS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pgqrs}"; }

# The venv holding the Python packages of scripts/python-requirements.txt; its bin/python is
# what the build (nanobind) and the tests (pytest, moto) use.
pgqrs_venv_dir() { printf '%s/venv\n' "$(pgqrs_cache_dir)"; }
