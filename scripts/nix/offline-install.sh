# shellcheck shell=bash
# The offline install recipe of the Nix package, as shell functions so that nix/package.nix and
# scripts/check-packaging run the very same steps (Nix adds only patchShebangs and the wrapper).
# Source it; every function takes explicit directories and changes no global state except the
# npm_config_* variables set by joulemon_npm_offline_env.

# npm with no way to reach a registry: --offline, an empty private cache, and a registry address
# on which nothing listens, so a step that tries the network fails at once instead of waiting.
joulemon_npm_offline_env() {
  local cache=$1
  mkdir -p "$cache"
  export npm_config_cache=$cache
  export npm_config_offline=true
  export npm_config_registry=http://127.0.0.1:9/
  export npm_config_audit=false
  export npm_config_fund=false
  export npm_config_update_notifier=false
  export npm_config_progress=false
  # Keep `resolved` out of any lockfile npm writes, as the project's own config does.
  export npm_config_omit_lockfile_registry_resolved=true
}

# Install every dependency of SRC from the tarballs in TARBALLS (the output of
# `npm-lock-tarballs.mjs fetch`): point each lockfile entry at its tarball, then let npm install
# offline; npm checks each tarball against the lockfile's unchanged `integrity`.
#
# `npm install --no-save` rather than `npm ci`: a lockfile written against a registry that lacks
# other platforms' optional packages (as the one this project is developed against does) has no
# entries for them, and `npm ci` then refuses it as "out of sync" even though `npm install`
# honours it exactly. Drift is still caught: a dependency missing from the lockfile cannot be
# resolved offline, so the install fails.
#
# Lifecycle scripts are off: the only ones in the tree compile native add-ons whose prebuilt
# binaries come as optional packages (@parcel/watcher, msgpackr-extract), or check esbuild (a dev
# tool). The project's own build runs explicitly in joulemon_build.
joulemon_install_deps() {
  local src=$1 tarballs=$2
  node "$src/scripts/nix/npm-lock-tarballs.mjs" localize "$src/package-lock.json" "$tarballs"
  (cd "$src" && npm install --no-save --ignore-scripts --no-audit --no-fund)
}

joulemon_build() {
  local src=$1
  (cd "$src" && npm run build)
}

# Drop devDependencies (TypeScript, vitest, tsx, …) from node_modules after the build.
joulemon_prune() {
  local src=$1
  (cd "$src" && npm prune --omit=dev --ignore-scripts --no-save --no-audit --no-fund)
}

# Lay the runnable package out in DEST (…/lib/node_modules/joulemon): what `npm install -g`
# would produce, without the build's leftovers.
joulemon_install_tree() {
  local src=$1 dest=$2
  mkdir -p "$dest"
  cp -R "$src/package.json" "$src/bin" "$src/dist" "$src/node_modules" "$dest/"
  # The hidden lockfile records where packages came from (the tarball directory) and is not
  # needed to run; removing it keeps the fetched tarballs out of the runtime closure.
  rm -f "$dest/node_modules/.package-lock.json"
}
